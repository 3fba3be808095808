import { AvlocError } from '../errors.ts';

/**
 * One stream's recent audio, indexed by absolute sample position on the media timeline
 * (sample i is at i / sampleRate seconds, the same origin as video pts — see types.ts).
 *
 * Bound: capacity = window + margin samples, fixed at construction. Policy: overwrite oldest —
 * audio older than the capacity is gone and reads as zeros (a frame that late is already stale).
 *
 * Gaps (a chunk that starts after the audio we have) are filled with zeros so positions stay exact;
 * overlaps (a chunk that starts before the end we have) keep the audio already written and only
 * append the new tail, so a resent packet cannot shift the timeline.
 */
export interface AudioRingOptions {
  readonly sampleRate: number;
  readonly windowSeconds: number;
  /** Extra history kept beyond one window, so a frame that arrives a little late still finds its audio. */
  readonly marginSeconds?: number;
}

export class AudioRing {
  readonly sampleRate: number;
  /** T: samples in one model window. */
  readonly windowSamples: number;
  readonly capacity: number;
  private readonly buf: Float32Array;
  /** Absolute index one past the last sample written (0 before any audio). */
  private end = 0;

  constructor(opts: AudioRingOptions) {
    const { sampleRate, windowSeconds } = opts;
    const margin = opts.marginSeconds ?? 1;
    if (!(sampleRate > 0) || !(windowSeconds > 0) || !(margin >= 0)) {
      throw new AvlocError('INTERNAL', `AudioRing: bad options rate=${sampleRate} window=${windowSeconds}s margin=${margin}s`);
    }
    this.sampleRate = sampleRate;
    this.windowSamples = Math.round(windowSeconds * sampleRate);
    this.capacity = this.windowSamples + Math.ceil(margin * sampleRate);
    this.buf = new Float32Array(this.capacity);
  }

  /** Absolute sample index of a media time (the sample at or just after it). */
  sampleAt(ptsMs: number): number {
    return Math.round((ptsMs * this.sampleRate) / 1000);
  }

  /** Absolute index one past the newest sample held. */
  get endSample(): number {
    return this.end;
  }

  /** Media time up to which audio has arrived. */
  get endPtsMs(): number {
    return (this.end * 1000) / this.sampleRate;
  }

  /** True when every sample before `ptsMs` has arrived (a window ending there is complete). */
  hasAudioUntil(ptsMs: number): boolean {
    return this.end >= this.sampleAt(ptsMs);
  }

  push(ptsMs: number, samples: Float32Array): void {
    let start = this.sampleAt(ptsMs);
    let src = samples;
    if (start < this.end) {
      // Overlap: keep what we have, append only the part past our end.
      const skip = this.end - start;
      if (skip >= src.length) return;
      src = src.subarray(skip);
      start = this.end;
    }
    if (start > this.end) this.zero(this.end, start);
    // Only the newest `capacity` samples can be kept.
    if (src.length > this.capacity) {
      start += src.length - this.capacity;
      src = src.subarray(src.length - this.capacity);
    }
    this.write(start, src);
    this.end = start + src.length;
  }

  /**
   * Exactly T samples covering [end - T, end) where end = sampleAt(ptsMs): the window ending at that
   * pts (docs/MODEL_CONTRACT.md "Audio window alignment"). Positions before 0, not yet arrived, or already
   * overwritten read as zeros. Writes into `out` when given (it must hold T samples).
   */
  windowEndingAt(ptsMs: number, out?: Float32Array): Float32Array {
    const T = this.windowSamples;
    const dst = out ?? new Float32Array(T);
    if (dst.length !== T) throw new AvlocError('INTERNAL', `AudioRing: out has ${dst.length} samples, window needs ${T}`);
    const endAbs = this.sampleAt(ptsMs);
    const from = endAbs - T;
    // The readable range: written, not overwritten, not negative.
    const lo = Math.max(from, 0, this.end - this.capacity);
    const hi = Math.min(endAbs, this.end);
    if (hi <= lo) {
      dst.fill(0);
      return dst;
    }
    dst.fill(0, 0, lo - from);
    dst.fill(0, hi - from, T);
    this.read(lo, hi, dst, lo - from);
    return dst;
  }

  private zero(fromAbs: number, toAbs: number): void {
    const n = Math.min(toAbs - fromAbs, this.capacity);
    const a = (toAbs - n) % this.capacity;
    const first = Math.min(n, this.capacity - a);
    this.buf.fill(0, a, a + first);
    if (n > first) this.buf.fill(0, 0, n - first);
  }

  private write(startAbs: number, src: Float32Array): void {
    const a = startAbs % this.capacity;
    const first = Math.min(src.length, this.capacity - a);
    this.buf.set(src.subarray(0, first), a);
    if (src.length > first) this.buf.set(src.subarray(first), 0);
  }

  private read(loAbs: number, hiAbs: number, dst: Float32Array, dstOffset: number): void {
    const n = hiAbs - loAbs;
    const a = loAbs % this.capacity;
    const first = Math.min(n, this.capacity - a);
    dst.set(this.buf.subarray(a, a + first), dstOffset);
    if (n > first) dst.set(this.buf.subarray(0, n - first), dstOffset + first);
  }
}
