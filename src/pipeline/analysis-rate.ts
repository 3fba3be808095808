import { AvlocError } from '../errors.ts';

/**
 * How many frames per second each live stream should hand the model, when the model cannot take
 * every frame of every stream (pipeline.adaptiveRate).
 *
 * Why: the scheduler keeps latency bounded by skipping frames the model has no time for, but a
 * skipped frame has already been scaled, colour-converted, previewed and copied out of ffmpeg —
 * about half of a live decoder's CPU on 720p30 — and on a small machine that CPU is taken from the
 * model itself. So the governor measures what the model does (frames per second of inference
 * time, which already counts the audio windows and the contention it runs under) and gives each
 * stream its share of that, via the decoder's analysis gate (src/media/analysis-gate.ts).
 *
 *  - Budget = measured capacity × headroom. Headroom above 1 keeps a frame waiting whenever the
 *    model frees up (a few are still skipped), and lets the estimate find a higher capacity: a
 *    starved model is never measured, because it is never starved.
 *  - Shares are water-filled: a stream that wants less than an equal share (a 10 fps camera, a
 *    per-stream cap) keeps all it wants, and the rest is split among the others.
 *  - A stream whose share covers what it wants runs ungated (null). Rates never go below minFps.
 *  - Changes smaller than `hysteresis` (relative) are not made, so decoders are not told a new
 *    rate every second for noise.
 *
 * Pure: the caller feeds batches with their times and asks for a plan (src/app/rate-control.ts).
 */
export interface AnalysisRateOptions {
  /** Offered frames per second as a multiple of measured capacity. Default 1.25. */
  readonly headroom?: number;
  /** No stream is gated below this many frames per second. Default 1. */
  readonly minFps?: number;
  /** Half-life of the capacity estimate, ms. Default 1000. */
  readonly halfLifeMs?: number;
  /** Relative change below which a stream's rate is left as it is. Default 0.1. */
  readonly hysteresis?: number;
  /** Inference time the estimate needs before it is trusted, ms. Default 500. */
  readonly minEvidenceMs?: number;
}

export interface StreamDemand {
  readonly id: string;
  /** Frames per second the stream would deliver ungated (its source rate, or its fixed cap). */
  readonly wantFps: number;
  /** Its gate's rate now (null: ungated). */
  readonly currentFps: number | null;
}

export class AnalysisRateGovernor {
  readonly headroom: number;
  readonly minFps: number;
  readonly halfLifeMs: number;
  readonly hysteresis: number;
  readonly minEvidenceMs: number;
  /** Exponentially decayed sums of frames run and inference time (ms), as of `lastMs`. */
  private frames = 0;
  private busyMs = 0;
  private lastMs: number | null = null;

  constructor(opts: AnalysisRateOptions = {}) {
    this.headroom = opts.headroom ?? 1.25;
    this.minFps = opts.minFps ?? 1;
    this.halfLifeMs = opts.halfLifeMs ?? 1000;
    this.hysteresis = opts.hysteresis ?? 0.1;
    this.minEvidenceMs = opts.minEvidenceMs ?? 500;
    const ok = this.headroom >= 1 && this.minFps > 0 && this.halfLifeMs > 0 && this.hysteresis >= 0 && this.hysteresis < 1 && this.minEvidenceMs >= 0;
    if (!ok) throw new AvlocError('CONFIG_INVALID', 'analysis rate: need headroom ≥ 1, minFps > 0, halfLifeMs > 0, 0 ≤ hysteresis < 1');
  }

  /** One inference batch: `frames` frames took `busyMs` of wall time, ending at `nowMs`. */
  recordBatch(frames: number, busyMs: number, nowMs: number): void {
    if (!(frames > 0) || !(busyMs >= 0)) return;
    this.decayTo(nowMs);
    this.frames += frames;
    this.busyMs += busyMs;
  }

  /** Frames per second of inference time, or null until there is enough evidence. */
  capacityFps(nowMs: number): number | null {
    this.decayTo(nowMs);
    // The evidence decays too: after a long idle spell the model is measured afresh.
    if (this.busyMs < this.minEvidenceMs || this.busyMs <= 0) return null;
    return (this.frames * 1000) / this.busyMs;
  }

  /**
   * Each stream's gate rate (null: ungated). Without a capacity estimate yet, nothing is gated.
   * Streams not listed are not in the result.
   */
  plan(streams: readonly StreamDemand[], nowMs: number): Map<string, number | null> {
    const out = new Map<string, number | null>();
    const capacity = this.capacityFps(nowMs);
    const want = streams.reduce((s, d) => s + d.wantFps, 0);
    if (capacity === null || want <= capacity * this.headroom) {
      for (const d of streams) out.set(d.id, null);
      return out;
    }
    // Water-filling: the smallest wants are met first; the others split what is left equally.
    let left = capacity * this.headroom;
    const order = [...streams].sort((a, b) => a.wantFps - b.wantFps);
    order.forEach((d, i) => {
      const share = left / (order.length - i);
      const rate = d.wantFps <= share ? null : Math.max(this.minFps, share);
      left -= rate ?? d.wantFps;
      out.set(d.id, this.settle(d, rate));
    });
    return out;
  }

  /** The new rate, unless it is within the hysteresis band of the current one. */
  private settle(d: StreamDemand, rate: number | null): number | null {
    const cur = d.currentFps;
    if (rate === null || cur === null) return rate === null ? null : round(rate);
    return Math.abs(rate - cur) <= this.hysteresis * cur ? cur : round(rate);
  }

  private decayTo(nowMs: number): void {
    if (this.lastMs !== null && nowMs > this.lastMs) {
      const k = 0.5 ** ((nowMs - this.lastMs) / this.halfLifeMs);
      this.frames *= k;
      this.busyMs *= k;
    }
    this.lastMs = this.lastMs === null ? nowMs : Math.max(this.lastMs, nowMs);
  }
}

/** Two significant digits: 7.3, 12, 0.85. */
function round(fps: number): number {
  return Number(fps.toPrecision(2));
}
