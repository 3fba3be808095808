import { Observable, asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { AudioRing } from './audio-ring.ts';
import type { StreamCounterRegistry } from './counters.ts';
import type { AudioChunk, AvWindow, VideoFrame } from './types.ts';
import { WakeTimer } from './wake-timer.ts';

/**
 * Joins one stream's frames and audio into AvWindows: the window for a frame at pts t is the
 * windowSeconds of audio that ends at t (docs/MODEL_CONTRACT.md "Audio window alignment"; causal).
 *
 * A frame can arrive before the audio up to its pts (decoders interleave video and audio packets
 * with some slack). Such a frame waits, with these bounds:
 *  - at most ONE pending frame per stream; a newer frame replaces it and the old one is counted
 *    as `skipped` (policy: latest-only, like the scheduler — an old frame is worth less than a new one);
 *  - at most `audioWaitMs` (wall clock, default 250 ms); then it goes on with the audio that exists,
 *    the missing tail zero-filled and the window flagged `audioLate`.
 * Offline analysis (every frame counts, nothing is skipped) sets `inOrderQueue` instead: up to that
 * many frames wait in pts order and each goes on as soon as its audio is there; when one more
 * arrives, the oldest goes on with the audio that exists (`audioLate`) rather than being skipped.
 * A stream without audio (hasAudio=false, or an 'audio-state' event saying the track is gone)
 * emits every frame at once with a silent window.
 * Audio itself is held in an AudioRing (bounded, overwrite-oldest). Audio at the wrong rate is bad
 * input: dropped and reported, never an Observable error (one stream must not break the others).
 */
export type MediaEvent =
  | { readonly type: 'frame'; readonly frame: VideoFrame }
  | { readonly type: 'audio'; readonly chunk: AudioChunk }
  /**
   * Whether the stream's audio is (still) decoded — e.g. from the decoder's `info` event, which can
   * also say a restarted run dropped the audio track. Turning it off releases a waiting frame at once.
   */
  | { readonly type: 'audio-state'; readonly hasAudio: boolean };

export interface AvSyncOptions {
  readonly sampleRate: number;
  readonly windowSeconds: number;
  /** Whether audio is expected at the start; an 'audio-state' event changes it. Default true. */
  readonly hasAudio?: boolean;
  /** Longest a frame waits for its audio, wall ms (pipeline.avSyncMaxWaitMs live; its own name, not the scheduler's maxWaitMs). */
  readonly audioWaitMs: number;
  /** Audio history kept beyond one window (seconds). Default 1. */
  readonly marginSeconds?: number;
  /**
   * Never skip: up to this many frames wait in order for their audio (offline analysis, where the
   * reader applies backpressure instead of dropping). Unset: latest-only, one waiting frame.
   */
  readonly inOrderQueue?: number;
}

interface Pending {
  readonly frame: VideoFrame;
  readonly sinceMs: number;
}

export class AvSyncCore {
  private readonly ring: AudioRing;
  private readonly audioWaitMs: number;
  private hasAudio: boolean;
  /** Shared by every window of a stream without audio; consumers treat windows as read-only. */
  private silence: Float32Array | undefined;
  /** Frames waiting for their audio, oldest first (at most one unless `inOrderQueue`). */
  private readonly pending: Pending[] = [];
  private readonly queueLimit: number | undefined;
  /** Frames replaced while waiting for audio. */
  skipped = 0;
  /** Windows emitted with audio missing at their end. */
  late = 0;
  /** Audio chunks rejected as bad input (counted by the operator, which drops them). */
  droppedChunks = 0;

  constructor(opts: AvSyncOptions) {
    this.ring = new AudioRing(opts);
    this.audioWaitMs = opts.audioWaitMs;
    this.hasAudio = opts.hasAudio ?? true;
    const q = opts.inOrderQueue;
    if (q !== undefined && !(Number.isInteger(q) && q >= 1)) throw new AvlocError('INTERNAL', `AvSync: inOrderQueue must be an integer ≥ 1, got ${q}`);
    this.queueLimit = q;
  }

  get audioEndPtsMs(): number {
    return this.ring.endPtsMs;
  }

  /** `now` is wall-clock ms (only used to time the wait). */
  process(ev: MediaEvent, now: number): AvWindow[] {
    if (ev.type === 'audio') return this.onAudio(ev.chunk);
    if (ev.type === 'audio-state') return this.onAudioState(ev.hasAudio);
    return this.onFrame(ev.frame, now);
  }

  /** Releases pending frames once they have waited audioWaitMs (oldest first). */
  tick(now: number): AvWindow[] {
    const out: AvWindow[] = [];
    while (this.pending.length > 0 && now - this.pending[0]!.sinceMs >= this.audioWaitMs) out.push(this.window(this.pending.shift()!.frame));
    return out;
  }

  /** When `tick` next has something to do, if ever. */
  nextWakeAtMs(): number | undefined {
    const p = this.pending[0];
    return p ? p.sinceMs + this.audioWaitMs : undefined;
  }

  /** End of stream: pending frames go on with the audio that exists. */
  end(): AvWindow[] {
    return this.releaseAll();
  }

  private onFrame(frame: VideoFrame, now: number): AvWindow[] {
    if (!this.hasAudio) {
      this.silence ??= new Float32Array(this.ring.windowSamples);
      return [{ frame, audio: this.silence, hasAudio: false }];
    }
    if (this.queueLimit !== undefined) return this.onFrameInOrder(frame, now, this.queueLimit);
    if (this.ring.hasAudioUntil(frame.ptsMs)) {
      // A newer frame is complete: an older pending one would now be out of order; it is skipped.
      if (this.pending.length > 0) this.skip();
      return [this.window(frame)];
    }
    if (this.pending.length > 0) this.skip();
    this.pending.push({ frame, sinceMs: now });
    return [];
  }

  /** Offline: earlier frames go first, each with its own window; none is skipped. */
  private onFrameInOrder(frame: VideoFrame, now: number, limit: number): AvWindow[] {
    if (this.ring.hasAudioUntil(frame.ptsMs)) return [...this.releaseAll(), this.window(frame)];
    const out: AvWindow[] = [];
    while (this.pending.length >= limit) out.push(this.window(this.pending.shift()!.frame));
    this.pending.push({ frame, sinceMs: now });
    return out;
  }

  private releaseAll(): AvWindow[] {
    const out = this.pending.map((p) => this.window(p.frame));
    this.pending.length = 0;
    return out;
  }

  private onAudio(chunk: AudioChunk): AvWindow[] {
    if (chunk.sampleRate !== this.ring.sampleRate) {
      throw new AvlocError(
        'DECODE_FAILED',
        `stream ${chunk.streamId}: audio at ${chunk.sampleRate} Hz, the model needs ${this.ring.sampleRate} Hz`,
      );
    }
    if (!this.hasAudio) return [];
    this.ring.push(chunk.ptsMs, chunk.samples);
    const out: AvWindow[] = [];
    while (this.pending.length > 0 && this.ring.hasAudioUntil(this.pending[0]!.frame.ptsMs)) out.push(this.window(this.pending.shift()!.frame));
    return out;
  }

  private onAudioState(hasAudio: boolean): AvWindow[] {
    this.hasAudio = hasAudio;
    if (hasAudio) return [];
    // No audio will come for them: they go on now, with whatever audio was received before.
    return this.releaseAll();
  }

  private skip(): void {
    this.pending.length = 0;
    this.skipped++;
  }

  private window(frame: VideoFrame): AvWindow {
    const audio = this.ring.windowEndingAt(frame.ptsMs);
    if (this.ring.hasAudioUntil(frame.ptsMs)) return { frame, audio, hasAudio: true };
    this.late++;
    return { frame, audio, hasAudio: true, audioLate: true };
  }
}

export interface AvSyncOperatorOptions extends AvSyncOptions {
  /** Where `decoded` and `skipped` are counted, keyed by the frames' streamId. */
  readonly counters?: StreamCounterRegistry;
  /** Clock and timers (virtual in marble tests). Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /**
   * Bad input (audio at the wrong rate) is dropped, never an Observable error — one broken stream
   * must not tear down a merged pipeline. The first such error per subscription goes here
   * (default: a warning in the log); later ones are only counted in `droppedChunks` of the core.
   */
  readonly onError?: (err: AvlocError) => void;
}

const log = createLogger('avsync');

/** One stream's media events in, its AvWindows out. On completion the pending frame is flushed. */
export function avSync(opts: AvSyncOperatorOptions): OperatorFunction<MediaEvent, AvWindow> {
  const sched = opts.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<AvWindow>((subscriber) => {
      const core = new AvSyncCore(opts);
      const timer = new WakeTimer(sched, () => emit(core.tick(sched.now())));

      const emit = (windows: AvWindow[]): void => {
        for (const w of windows) subscriber.next(w);
        timer.arm(core.nextWakeAtMs());
      };

      const sub = source.subscribe({
        next: (ev) => {
          let out: AvWindow[];
          const skippedBefore = core.skipped;
          try {
            out = core.process(ev, sched.now());
          } catch (err) {
            if (!(err instanceof AvlocError) || err.code !== 'DECODE_FAILED') {
              subscriber.error(err);
              return;
            }
            core.droppedChunks++;
            if (core.droppedChunks === 1) (opts.onError ?? ((e) => log.warn(describeError(e))))(err);
            return;
          }
          if (ev.type === 'frame') {
            opts.counters?.open(ev.frame.streamId);
            opts.counters?.bump(ev.frame.streamId, 'decoded');
            if (core.skipped > skippedBefore) opts.counters?.bump(ev.frame.streamId, 'skipped', core.skipped - skippedBefore);
          }
          emit(out);
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          timer.cancel();
          for (const w of core.end()) subscriber.next(w);
          subscriber.complete();
        },
      });
      return () => {
        timer.cancel();
        sub.unsubscribe();
      };
    });
}
