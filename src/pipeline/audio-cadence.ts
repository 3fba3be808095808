import { map, type OperatorFunction } from 'rxjs';
import { nowMs, type AvWindow, type FrameJob } from './types.ts';

/**
 * Decides, per job, whether its audio refreshes the stream's audio embedding (docs/ARCHITECTURE.md, rule 4):
 * the embedding of a trailing window changes slowly, so it is recomputed every `everyMs` of media
 * time (default 250) and shared by the frames in between. Always refreshes:
 *  - the first job of a stream (there is no embedding yet);
 *  - a job whose pts went backwards (the decoder restarted; the old embedding is for other audio).
 * A stream without audio refreshes once (its window is always silence).
 *
 * Bound: one number per live stream; `forget` frees it when the stream ends.
 * The decision is made when the job is created; the scheduler carries a refresh over to the job
 * that replaces or outlives it, so a skipped or dropped job never loses a refresh.
 */
export interface AudioCadenceOptions {
  /** Media ms between two audio-embedding refreshes. Default 250; 0 refreshes every job. */
  readonly everyMs?: number;
}

export class AudioCadence {
  private readonly everyMs: number;
  private readonly lastRefreshPts = new Map<string, number>();

  constructor(opts: AudioCadenceOptions = {}) {
    this.everyMs = opts.everyMs ?? 250;
  }

  decide(streamId: string, ptsMs: number, hasAudio = true): boolean {
    const last = this.lastRefreshPts.get(streamId);
    const refresh =
      last === undefined || (hasAudio && (ptsMs < last || ptsMs - last >= this.everyMs));
    if (refresh) this.lastRefreshPts.set(streamId, ptsMs);
    return refresh;
  }

  forget(streamId: string): void {
    this.lastRefreshPts.delete(streamId);
  }

  get size(): number {
    return this.lastRefreshPts.size;
  }
}

/** AvWindows in, FrameJobs out, stamped with `clock()` as their enqueue time. */
export function audioCadence(
  cadence: AudioCadence,
  clock: () => number = nowMs,
): OperatorFunction<AvWindow, FrameJob> {
  return map((window) => ({
    window,
    refreshAudio: cadence.decide(window.frame.streamId, window.frame.ptsMs, window.hasAudio),
    enqueuedAtMs: clock(),
  }));
}
