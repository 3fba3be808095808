import type { Subject, Subscription } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import type { BatchRunner } from '../inference/batch-runner.ts';
import type { ModelCard } from '../inference/model-card.ts';
import type { Logger } from '../log.ts';
import { Decoder } from '../media/decoder.ts';
import type { Source } from '../media/source.ts';
import { audioCadence, type AudioCadence } from '../pipeline/audio-cadence.ts';
import type { StreamCounterRegistry } from '../pipeline/counters.ts';
import type { SchedulerInput } from '../pipeline/scheduler.ts';
import type { Hub } from '../publish/hub.ts';
import { mediaWindows } from './media-windows.ts';

/** What every stream shares: the model, the one scheduler input, and the registries it enters. */
export interface StreamSessionDeps {
  readonly card: ModelCard;
  readonly ffmpegPath: string;
  /** JPEG preview height, or null for none. */
  readonly previewHeight: number | null;
  /** Previews per second at most (undefined: one with every frame). */
  readonly previewFps?: number;
  /** Analyzed frames per second at most (undefined: every frame). */
  readonly maxFps?: number;
  /** Decode behind an analysis gate whose rate the rate control sets (pipeline.adaptiveRate). */
  readonly adaptiveRate: boolean;
  /** How long a frame may wait for its audio (av-sync). */
  readonly avSyncMaxWaitMs: number;
  readonly hub: Hub;
  readonly counters: StreamCounterRegistry;
  readonly cadence: AudioCadence;
  readonly runner: BatchRunner;
  readonly jobs: Subject<SchedulerInput>;
  readonly log: Logger;
}

/**
 * One live stream and everything it holds: its source, its ffmpeg decoder, its windows feeding
 * the shared scheduler, its counters, audio-cadence entry, runner state and hub entry. Created
 * when a publisher is admitted; `close()` undoes every one of those, once, and resolves when the
 * decoder's ffmpeg has exited and the publisher is disconnected (docs/ARCHITECTURE.md, rule 5).
 */
export class StreamSession {
  readonly id: string;
  private readonly decoder: Decoder;
  private subscription: Subscription | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly source: Source,
    private readonly deps: StreamSessionDeps,
    /** Told once when the stream ends by itself (decoder done, pipeline failed), before cleanup. */
    private readonly onEnd: (session: StreamSession, reason: string) => void,
  ) {
    this.id = source.id;
    const { card } = deps;
    this.decoder = new Decoder({
      source,
      width: card.visual.width,
      height: card.visual.height,
      sampleRate: card.audio.sampleRate,
      previewHeight: deps.previewHeight,
      ...(deps.previewFps !== undefined ? { previewFps: deps.previewFps } : {}),
      ...(deps.maxFps !== undefined ? { selectFps: deps.maxFps } : {}),
      gate: deps.adaptiveRate,
      ffmpegPath: deps.ffmpegPath,
      logger: deps.log.child(`decoder:${source.id}`),
    });
  }

  get decoderPid(): number | undefined {
    return this.decoder.pid;
  }

  /**
   * Frames per second this stream delivers ungated: its source rate (30 until the decoder has
   * probed it) or the fixed per-stream cap, whichever is lower.
   */
  get wantFps(): number {
    const fps = this.decoder.streamInfo?.fps;
    const source = typeof fps === 'number' && fps > 0 && fps < 1000 ? fps : 30;
    return Math.min(source, this.deps.maxFps ?? Infinity);
  }

  /** The analysis gate's rate (null: every frame; undefined: the stream has no gate). */
  get analysisFps(): number | null | undefined {
    return this.decoder.analysisFps;
  }

  /** See Decoder.setAnalysisFps: false when it could not be applied now. */
  setAnalysisFps(fps: number | null): boolean {
    return this.decoder.setAnalysisFps(fps);
  }

  /** Enters the stream in the hub and counters and starts decoding. */
  start(): void {
    const { hub, counters, card, jobs, log } = this.deps;
    const id = this.id;
    hub.streamStarted(id, this.source.kind, this.source.startedAtMs);
    counters.open(id);
    const windows = mediaWindows(this.decoder, {
      card,
      counters,
      audioWaitMs: this.deps.avSyncMaxWaitMs,
      onInfo: (info) => {
        hub.streamInfo({
          id,
          hasAudio: info.audioDecoded,
          hasVideo: info.hasVideo,
          ...(info.videoCodec ? { videoCodec: info.videoCodec } : {}),
          ...(info.audioCodec ? { audioCodec: info.audioCodec } : {}),
          ...(info.width ? { width: info.width } : {}),
          ...(info.height ? { height: info.height } : {}),
          ...(info.fps ? { fps: info.fps } : {}),
          ...(info.audioSampleRate ? { sampleRate: info.audioSampleRate } : {}),
        });
        if (!info.audioDecoded) hub.streamError(id, 'STREAM_NO_AUDIO', `stream ${id} has no audio: analyzed with silence`);
      },
    });
    const subscription = windows.pipe(audioCadence(this.deps.cadence)).subscribe({
      next: (job) => jobs.next({ type: 'job', job }),
      error: (err: unknown) => {
        log.error('stream pipeline failed', { stream: id, error: describeError(err) });
        hub.streamError(id, err instanceof AvlocError ? err.code : 'INTERNAL', describeError(err));
        this.onEnd(this, 'failed');
      },
    });
    // Decoder news: errors to the log and the stream's subscribers; its end ends the stream.
    subscription.add(
      this.decoder.events$.subscribe((ev) => {
        if (ev.type === 'error') {
          log.warn('decoder error', { stream: id, fatal: ev.fatal, error: describeError(ev.error) });
          hub.streamError(id, ev.error.code, ev.error.message);
        } else if (ev.type === 'restart') {
          log.warn('decoder restarting', { stream: id, attempt: ev.attempt, delayMs: ev.delayMs, reason: ev.reason });
          hub.setStreamState(id, 'stalled');
        }
      }),
    );
    this.subscription = subscription;
    void this.decoder.done.then(({ reason, error }) => this.onEnd(this, error ? `${reason}: ${error.code}` : reason));
    this.decoder.start();
    this.source.requestKeyframe?.();
    log.info('stream started', { stream: id, kind: this.source.kind });
  }

  /**
   * Ends the stream: leaves the scheduler, counters, cadence, runner and hub at once (subscribers
   * get `stream.ended` with `reason`), then stops the decoder and disconnects the publisher.
   * Idempotent; every call resolves when both are closed.
   */
  close(reason: string): Promise<void> {
    if (this.closing) return this.closing;
    const { hub, counters, cadence, runner, jobs, log } = this.deps;
    const id = this.id;
    this.subscription?.unsubscribe();
    jobs.next({ type: 'end', streamId: id });
    cadence.forget(id);
    runner.forget(id);
    counters.delete(id);
    hub.streamEnded(id, reason);
    log.info('stream ended', { stream: id, reason });
    this.closing = Promise.allSettled([this.decoder.close(), this.source.close()]).then((results) => {
      for (const r of results) if (r.status === 'rejected') log.warn('stream close step failed', { stream: id, error: describeError(r.reason) });
    });
    return this.closing;
  }
}
