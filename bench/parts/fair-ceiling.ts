/**
 * The fair ceiling of one saturation step: what this machine could deliver for N streams if the
 * pipeline cost nothing beyond its two unavoidable parts, each measured alone in the same run:
 *  - decode-only: the service's own decoders on the same N real-time streams, no model;
 *  - model-only: the bundle's graphs at the batch sizes the service used in that step, with the
 *    audio graph at the service's cadence *per analyzed frame* (a stream analyzing r frames/s
 *    refreshes its audio min(1, cadence rate / r) times per frame, not once per 250 ms of source).
 * fair = min(decode-only, model-only). Pure, so it is unit-tested without processes.
 */

/** Messages (frames) per batch size, as the service's heatmaps reported them. */
export type BatchHistogram = ReadonlyMap<number, number>;

/** Mean wall time of one call at a batch size, per graph. */
export interface CallCosts {
  readonly visualMs: (batch: number) => number;
  readonly audioMs: (batch: number) => number;
}

export interface FairCeilingRow {
  readonly streams: number;
  /** Frames per second the N streams offer (N × fps). */
  readonly offeredFps: number;
  /** Frames per second the service's decoders alone produced for the N streams. */
  readonly decodeOnlyFps: number;
  /** Frames per second the model alone makes at the step's batch sizes and audio share. */
  readonly modelOnlyFps: number;
  /** Audio windows per analyzed frame used for model-only (at the fair ceiling's per-stream rate). */
  readonly audioPerFrame: number;
  /** Batch sizes of the step: batch size → frames analyzed in batches of that size. */
  readonly batchSizes: Readonly<Record<string, number>>;
  readonly fairCeiling: number;
  readonly bound: 'decode' | 'model';
  /** Heatmaps per second the service delivered in the step. */
  readonly delivered: number;
  /** delivered / fairCeiling. */
  readonly fairCeilingRatio: number;
}

export function batchHistogram(batchSizes: readonly number[]): Map<number, number> {
  const h = new Map<number, number>();
  for (const b of batchSizes) h.set(b, (h.get(b) ?? 0) + 1);
  return h;
}

/** Audio windows per analyzed frame for a stream analyzing `framesPerS` frames per second. */
export function audioShare(framesPerS: number, audioCadenceMs: number): number {
  if (!(framesPerS > 0)) return 1;
  return Math.min(1, 1000 / audioCadenceMs / framesPerS);
}

/**
 * Frames per second of the graphs alone for this mix of batch sizes: a batch of b frames costs one
 * visual call of b and, on average, a·b audio windows, run as calls of k = max(1, round(a·b)).
 */
export function modelOnlyFps(hist: BatchHistogram, costs: CallCosts, audioPerFrame: number): number {
  let frames = 0;
  let ms = 0;
  for (const [b, n] of hist) {
    if (n <= 0 || b <= 0) continue;
    const batches = n / b;
    const windows = audioPerFrame * b;
    const k = Math.max(1, Math.round(windows));
    ms += batches * (costs.visualMs(b) + (windows / k) * costs.audioMs(k));
    frames += n;
  }
  return frames > 0 && ms > 0 ? (1000 * frames) / ms : Number.NaN;
}

/**
 * The largest F with F = min(decodeOnly, modelOnly(audio share at F / N per stream)). The right
 * side grows with F (more frames per stream, fewer audio windows per frame), so iterating down
 * from decodeOnly converges to it.
 */
export function solveFairCeiling(
  streams: number,
  decodeOnlyFps: number,
  hist: BatchHistogram,
  costs: CallCosts,
  audioCadenceMs: number,
): { fair: number; model: number; audioPerFrame: number } {
  let fair = decodeOnlyFps;
  let a = audioShare(fair / streams, audioCadenceMs);
  let model = modelOnlyFps(hist, costs, a);
  for (let i = 0; i < 100; i++) {
    const next = Math.min(decodeOnlyFps, model);
    if (!Number.isFinite(next) || Math.abs(next - fair) < 1e-6) {
      fair = next;
      break;
    }
    fair = next;
    a = audioShare(fair / streams, audioCadenceMs);
    model = modelOnlyFps(hist, costs, a);
  }
  return { fair: Math.min(decodeOnlyFps, model), model, audioPerFrame: a };
}

export function fairCeilingRow(
  streams: number,
  offeredFps: number,
  decodeOnlyFps: number,
  hist: BatchHistogram,
  costs: CallCosts,
  audioCadenceMs: number,
  delivered: number,
): FairCeilingRow {
  const s = solveFairCeiling(streams, decodeOnlyFps, hist, costs, audioCadenceMs);
  const batchSizes: Record<string, number> = {};
  for (const [b, n] of [...hist].sort((x, y) => x[0] - y[0])) batchSizes[String(b)] = n;
  return {
    streams,
    offeredFps,
    decodeOnlyFps,
    modelOnlyFps: s.model,
    audioPerFrame: s.audioPerFrame,
    batchSizes,
    fairCeiling: s.fair,
    bound: decodeOnlyFps <= s.model ? 'decode' : 'model',
    delivered,
    fairCeilingRatio: delivered / s.fair,
  };
}

/** Per-call cost at any batch size from measured points: per-item cost interpolated between sizes. */
export function interpolatedCost(points: ReadonlyMap<number, number>): (batch: number) => number {
  const pts = [...points].sort((a, b) => a[0] - b[0]);
  return (batch) => {
    const exact = points.get(batch);
    if (exact !== undefined) return exact;
    const first = pts[0];
    if (!first) return Number.NaN;
    const perItem = ([b, ms]: readonly [number, number]) => ms / b;
    if (batch <= first[0]) return perItem(first) * batch;
    for (let i = 1; i < pts.length; i++) {
      const lo = pts[i - 1] as [number, number];
      const hi = pts[i] as [number, number];
      if (batch <= hi[0]) {
        const t = (batch - lo[0]) / (hi[0] - lo[0]);
        return (perItem(lo) + t * (perItem(hi) - perItem(lo))) * batch;
      }
    }
    return perItem(pts[pts.length - 1] as [number, number]) * batch;
  };
}
