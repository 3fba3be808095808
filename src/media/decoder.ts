import type { Readable } from 'node:stream';
import { Subject, type Observable } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import type { AudioChunk, VideoFrame } from '../pipeline/types.ts';
import { gateCommand, isGateChatter } from './analysis-gate.ts';
import { buildDecoderArgs } from './decoder-args.ts';
import { resolveFfmpeg } from './ffmpeg-path.ts';
import { classifyFailure, type InputStreams } from './stream-info.ts';
import { SupervisedProcess } from './supervised-process.ts';
import { isShowinfoLine } from './showinfo-parser.ts';
import type { DecoderCounters, DecoderEndReason, DecoderEvent, StreamInfo } from './decoder/events.ts';
import { DEFAULT_RESTART, type DecoderOptions, type RestartPolicy } from './decoder/options.ts';
import { RunReader, type RunSink } from './decoder/run-reader.ts';
import { Timeline } from './decoder/timeline.ts';

/** What one ffmpeg run came to, for runLoop to decide what comes next. */
interface RunResult {
  readonly frames: number;
  readonly failure: ReturnType<typeof classifyFailure> | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly startError: unknown;
  readonly tail: string;
  readonly input: InputStreams;
}

/**
 * One ffmpeg child per Source, turned into frames$ (rgb24 at the model size, with pts and optional
 * JPEG preview) and audio$ (f32le mono at the model rate, in chunks of `audioChunkMs`).
 *
 * This file supervises the runs: it starts ffmpeg, decides after each exit whether to run again
 * (video only, after a live source's failure with exponential backoff) or stop, and owns the
 * subjects. One run's pipes are read by decoder/run-reader.ts; pts and audio stay continuous
 * across restarts on decoder/timeline.ts; decoder/events.ts and decoder/options.ts hold the types.
 *
 * Subjects are hot: subscribe before start(). Errors are reported on events$, never as Observable
 * errors, so one broken stream cannot tear down a merged pipeline; all three complete when the
 * decoder stops (end of file, fatal error, close()).
 */
export class Decoder {
  readonly frames$: Observable<VideoFrame>;
  readonly audio$: Observable<AudioChunk>;
  readonly events$: Observable<DecoderEvent>;
  readonly counters: DecoderCounters = { frames: 0, audioSamples: 0, restarts: 0, joinDropped: 0, jpegDropped: 0, ptsFixed: 0, silencePadded: 0 };
  /** Resolves when the decoder has stopped for good. Never rejects. */
  readonly done: Promise<{ reason: DecoderEndReason; error?: AvlocError }>;

  private readonly frames = new Subject<VideoFrame>();
  private readonly audio = new Subject<AudioChunk>();
  private readonly events = new Subject<DecoderEvent>();
  private readonly opts: DecoderOptions;
  private readonly log: Logger;
  private readonly restart: RestartPolicy;
  private readonly id: string;
  private proc: SupervisedProcess | null = null;
  private started = false;
  private closed = false;
  private finished = false;
  private resolveDone!: (v: { reason: DecoderEndReason; error?: AvlocError }) => void;
  private backoffTimer: NodeJS.Timeout | null = null;
  private wakeBackoff: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** Learned from the first run; a missing audio track is remembered across restarts. */
  private withAudio = true;
  private info: StreamInfo | null = null;
  /** Offline backpressure (pause/resume): the output pipes of the current run, and whether they are held. */
  private mediaPipes: Readable[] = [];
  private paused = false;
  /** The analysis gate's rate (null: every frame), kept across runs; undefined: no gate. */
  private gateFps: number | null | undefined;
  /** pts and audio samples across runs. */
  private readonly timeline: Timeline;
  /** Where each run's reader delivers (see decoder/run-reader.ts). */
  private readonly sink: RunSink;

  constructor(options: DecoderOptions) {
    this.opts = options;
    this.id = options.source.id;
    this.log = options.logger ?? createLogger('decoder');
    this.restart = { ...DEFAULT_RESTART, ...options.restart };
    this.frames$ = this.frames.asObservable();
    this.audio$ = this.audio.asObservable();
    this.events$ = this.events.asObservable();
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.timeline = new Timeline(options.sampleRate);
    this.gateFps = options.gate && options.source.live ? null : undefined;
    this.sink = {
      streamId: this.id,
      counters: this.counters,
      timeline: this.timeline,
      closed: () => this.closed,
      info: (info) => {
        const first = this.info === null;
        this.info = info;
        if (first) this.events.next({ type: 'info', streamId: this.id, info });
        this.log.info('input', { stream: this.id, ...info });
      },
      frame: (frame) => this.frames.next(frame),
      audio: (chunk) => this.audio.next(chunk),
      resumed: () => this.events.next({ type: 'resumed', streamId: this.id, restarts: this.counters.restarts }),
    };
    if (!(options.width > 0 && options.height > 0 && options.sampleRate > 0)) {
      throw new AvlocError('CONFIG_INVALID', `decoder needs a positive size and rate, got ${options.width}x${options.height} @ ${options.sampleRate} Hz`);
    }
  }

  /** What ffmpeg found in the input (null until the first run has probed it). */
  get streamInfo(): StreamInfo | null {
    return this.info;
  }

  /** pid of the running ffmpeg child, if any (for metrics and tests). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The analysis gate's current rate: null when every frame passes, undefined without a gate. */
  get analysisFps(): number | null | undefined {
    return this.gateFps;
  }

  /**
   * Lets at most `fps` frames per second of media time through the analysis gate (null: every
   * frame), from the next frame ffmpeg reads it on (within about 100 ms), and in every later run.
   * Returns false, changing nothing, when the decoder has no gate or the running ffmpeg cannot be
   * told now (it has not read the last command yet): the caller asks again later.
   */
  setAnalysisFps(fps: number | null): boolean {
    if (this.gateFps === undefined || this.closed) return false;
    if (fps !== null && !(fps > 0 && Number.isFinite(fps))) throw new RangeError(`analysis fps must be positive or null, got ${fps}`);
    if (fps === this.gateFps) return true;
    // Between runs there is nobody to tell: the next run starts at the new rate.
    if (this.proc && !this.proc.send(gateCommand(fps))) return false;
    this.gateFps = fps;
    return true;
  }

  /** Starts the first ffmpeg run. Subscribe to the observables first. Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.loop = this.runLoop().catch((err: unknown) => {
      // FFMPEG_NOT_FOUND and friends keep their code; anything else is our bug.
      this.finish('failed', err instanceof AvlocError ? err : new AvlocError('INTERNAL', `decoder loop crashed: ${describeError(err)}`, { cause: err }));
    });
  }

  /**
   * Stops reading ffmpeg's output pipes, for a consumer that must not drop anything (offline
   * analysis): ffmpeg blocks on its next write, so what is held in memory stays within the pipe
   * buffers. Emissions stop within at most one pipe read per output. Idempotent; resume() undoes it.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const p of this.mediaPipes) p.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const p of this.mediaPipes) p.resume();
  }

  /** Kills ffmpeg (SIGTERM, then SIGKILL), completes the observables. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      // A paused pipe never ends, so the child would never be reported closed.
      this.resume();
      this.closed = true;
      if (this.backoffTimer) clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
      this.wakeBackoff?.();
      await this.proc?.close();
      if (!this.started) this.finish('closed');
    }
    await this.loop;
    await this.done;
  }

  private async runLoop(): Promise<void> {
    const ffmpeg = this.opts.ffmpegPath ?? resolveFfmpeg();
    let failures = 0;
    for (;;) {
      if (this.closed) return this.finish('closed');
      const r = await this.runOnce(ffmpeg);
      if (this.closed) return this.finish('closed');

      if (r.failure === 'missing-audio' && this.withAudio && r.frames === 0) {
        // Learned that the input has no audio: run again video-only (not a failure).
        this.withAudio = false;
        this.log.info('input has no audio track; decoding video only', { stream: this.id });
        continue;
      }
      if (r.failure === 'no-video' || (r.frames === 0 && !r.input.hasVideo && r.input.hasAudio)) {
        return this.finish('failed', new AvlocError('STREAM_NO_VIDEO', `stream ${this.id} has no video track (input: ${describeInput(r.input)})`));
      }
      // A file that cannot be decoded never will be. A live input may have been caught mid-start
      // (seen: "Invalid data found" from the RTMP relay while 30 publishers connected at once),
      // so it goes through the restart policy and fails as undecodable only when every try did.
      const undecodable = r.failure === 'undecodable' && r.frames === 0;
      if (undecodable && !this.opts.source.live) {
        return this.finish('failed', new AvlocError('DECODE_FAILED', `stream ${this.id} cannot be decoded: ${r.tail}`));
      }
      if (!this.opts.source.live) {
        if (r.exitCode === 0 && r.startError === null) return this.finish('eof');
        if (r.frames > 0 && r.exitCode === 0) return this.finish('eof');
        const code = r.startError instanceof AvlocError ? r.startError.code : 'DECODE_FAILED';
        return this.finish('failed', new AvlocError(code === 'FFMPEG_EXITED' ? 'DECODE_FAILED' : code, `stream ${this.id}: ffmpeg failed (code ${r.exitCode}, signal ${r.signal}): ${r.tail}`));
      }
      // Live: a run that delivered frames was healthy; start counting failures afresh.
      failures = r.frames > 0 ? 1 : failures + 1;
      const reason = r.startError ? describeError(r.startError) : `ffmpeg exited (code ${r.exitCode}, signal ${r.signal})`;
      if (failures > this.restart.maxAttempts) {
        if (undecodable) return this.finish('failed', new AvlocError('DECODE_FAILED', `stream ${this.id} cannot be decoded (${failures} tries): ${r.tail}`));
        return this.finish('failed', new AvlocError('FFMPEG_EXITED', `stream ${this.id}: gave up after ${failures - 1} restarts; last: ${reason}; ${r.tail}`));
      }
      const delayMs = Math.min(this.restart.maxDelayMs, this.restart.baseDelayMs * 2 ** (failures - 1));
      this.counters.restarts++;
      this.log.warn('ffmpeg stopped; restarting', { stream: this.id, attempt: failures, delayMs, reason, stderr: r.tail });
      this.events.next({ type: 'restart', streamId: this.id, attempt: failures, delayMs, reason });
      await new Promise<void>((resolve) => {
        this.wakeBackoff = resolve;
        this.backoffTimer = setTimeout(resolve, delayMs);
      });
      this.wakeBackoff = null;
      this.backoffTimer = null;
    }
  }

  /** One ffmpeg run: wire its pipes to the subjects and wait for it to exit. */
  private async runOnce(ffmpeg: string): Promise<RunResult> {
    const { width, height, sampleRate } = this.opts;
    const previewHeight = this.opts.previewHeight ?? null;
    const withAudio = this.withAudio;
    const args = buildDecoderArgs({
      input: this.opts.source.ffmpegInput,
      live: this.opts.source.live,
      width,
      height,
      sampleRate,
      withAudio,
      previewHeight,
      previewQuality: this.opts.previewQuality ?? 5,
      ...(this.opts.selectFps !== undefined ? { selectFps: this.opts.selectFps } : {}),
      ...(this.opts.previewFps !== undefined ? { previewFps: this.opts.previewFps } : {}),
      ...(this.gateFps !== undefined ? { gateFps: this.gateFps } : {}),
    });
    // Continue the timeline where the previous run ended, the audio gap filled with silence.
    this.timeline.startRun(withAudio, (ptsMs, samples) => {
      this.audio.next({ streamId: this.id, ptsMs, sampleRate, samples: new Float32Array(samples) });
      this.counters.silencePadded += samples;
      this.counters.audioSamples += samples;
    });
    const reader = new RunReader(this.sink, {
      width,
      height,
      sampleRate,
      withAudio,
      previewHeight,
      previewFps: this.opts.previewFps,
      audioChunkMs: this.opts.audioChunkMs ?? 20,
    });

    const proc = new SupervisedProcess({
      command: ffmpeg,
      args,
      extraPipes: previewHeight !== null ? 3 : 2,
      stdin: this.gateFps !== undefined,
      logger: this.log.child(`ffmpeg:${this.id}`),
      startTimeoutMs: this.opts.startTimeoutMs ?? (this.opts.source.live ? 15_000 : 10_000),
      ...(this.opts.killGraceMs !== undefined ? { killGraceMs: this.opts.killGraceMs } : {}),
      onStderrLine: reader.onLine,
      // When the CPU is short, decoding should yield to inference and to the event loop: a decoder
      // that falls behind is cut off by the bounded RTMP relay and rejoins live, whereas starved
      // inference makes every stream's heatmaps late.
      nice: 5,
      // Per-frame and known-harmless lines stay out of the error ring and the log.
      quietLine: (l) => isShowinfoLine(l) || isGateChatter(l) || /deprecated pixel format|-vsync is deprecated/.test(l),
    });
    this.proc = proc;

    this.mediaPipes = reader.attach(proc);
    if (this.paused) for (const p of this.mediaPipes) p.pause();

    let startError: unknown = null;
    try {
      await proc.start();
    } catch (err) {
      startError = err;
    }
    const exit = await proc.exited;
    if (startError instanceof AvlocError && startError.code === 'FFMPEG_EXITED' && exit.code === 0) startError = null;
    // Drain what the pipes still held: the last frames, the audio tail.
    reader.drain();
    this.proc = null;
    this.mediaPipes = [];
    const lines = proc.stderrLines();
    const failed = exit.code !== 0 || startError !== null;
    return {
      frames: reader.frames,
      failure: failed ? classifyFailure(lines, reader.input.snapshot(), reader.input.opened) : null,
      exitCode: exit.code,
      signal: exit.signal,
      startError,
      tail: proc.stderrTail(6),
      input: reader.input.snapshot(),
    };
  }

  private finish(reason: DecoderEndReason, error?: AvlocError): void {
    if (this.finished) return;
    this.finished = true;
    if (error) {
      this.log.warn('decoder stopped', { stream: this.id, error: describeError(error) });
      this.events.next({ type: 'error', streamId: this.id, error, fatal: true });
    }
    this.events.next({ type: 'ended', streamId: this.id, reason });
    this.frames.complete();
    this.audio.complete();
    this.events.complete();
    this.resolveDone(error ? { reason, error } : { reason });
  }
}

function describeInput(s: InputStreams): string {
  const parts: string[] = [];
  if (s.hasVideo) parts.push(`video ${s.videoCodec}`);
  if (s.hasAudio) parts.push(`audio ${s.audioCodec}`);
  return parts.length > 0 ? parts.join(', ') : 'no streams';
}
