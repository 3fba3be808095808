import { summarize, type Summary } from '../stats.ts';
import type { GraphRunner } from '../harness/graphs.ts';

/**
 * The model's own speed: each graph called back to back on one batch of fixed inputs, nothing
 * else running in the process. This is the ceiling the pipeline is measured against, so it uses the
 * service's own sessions (same loader, same thread settings) — see harness/graphs.ts.
 */
export interface CeilingRow {
  readonly graph: 'visual' | 'audio';
  readonly batch: number;
  readonly runs: number;
  /** Items (frames or windows) per second. */
  readonly itemsPerS: number;
  /** Wall time of one batch call. */
  readonly callMs: Summary;
}

export interface CeilingResult {
  readonly rows: readonly CeilingRow[];
  /**
   * Heatmaps per second the model alone can make at each batch size: one visual call per frame
   * plus `audioPerFrame` audio windows per frame (the service refreshes the audio embedding at its
   * own cadence, so at 30 fps with a 250 ms cadence that is 4/30 of a window per frame).
   */
  readonly frameCeiling: ReadonlyArray<{ readonly batch: number; readonly framesPerS: number }>;
  readonly audioPerFrame: number;
}

/** Back-to-back calls of `run(batch)` for `seconds` after a short warm-up; call times in ms. */
export async function measure(run: (batch: number) => Promise<void>, batch: number, seconds: number): Promise<{ runs: number; elapsedS: number; calls: number[] }> {
  // Warm-up: the first calls allocate arenas and pick kernels for this shape.
  const warmEnd = performance.now() + Math.min(1000, seconds * 250);
  let warm = 0;
  while (performance.now() < warmEnd || warm < 2) {
    await run(batch);
    warm++;
  }
  const calls: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end || calls.length < 3) {
    const t = performance.now();
    await run(batch);
    calls.push(performance.now() - t);
  }
  return { runs: calls.length, elapsedS: (performance.now() - start) / 1000, calls };
}

export async function measureCeiling(
  runner: GraphRunner,
  batches: readonly number[],
  secondsPerPoint: number,
  audioPerFrame: number,
  onRow?: (row: CeilingRow) => void,
): Promise<CeilingResult> {
  const rows: CeilingRow[] = [];
  for (const graph of ['visual', 'audio'] as const) {
    for (const batch of batches) {
      const m = await measure((b) => (graph === 'visual' ? runner.visual(b) : runner.audio(b)), batch, secondsPerPoint);
      const row: CeilingRow = { graph, batch, runs: m.runs, itemsPerS: (m.runs * batch) / m.elapsedS, callMs: summarize(m.calls) };
      rows.push(row);
      onRow?.(row);
    }
  }
  const frameCeiling = batches.map((batch) => {
    const v = rows.find((r) => r.graph === 'visual' && r.batch === batch);
    const a = rows.find((r) => r.graph === 'audio' && r.batch === batch);
    const perFrameS = (v ? 1 / v.itemsPerS : Number.NaN) + audioPerFrame * (a ? 1 / a.itemsPerS : Number.NaN);
    return { batch, framesPerS: 1 / perFrameS };
  });
  return { rows, frameCeiling, audioPerFrame };
}

/** The frame ceiling at a batch size, interpolated between measured sizes for a fractional mean batch. */
export function ceilingAt(result: CeilingResult, batch: number): number {
  const pts = [...result.frameCeiling].sort((a, b) => a.batch - b.batch);
  const first = pts[0];
  if (!first) return Number.NaN;
  if (batch <= first.batch) return first.framesPerS;
  for (let i = 1; i < pts.length; i++) {
    const lo = pts[i - 1] as { batch: number; framesPerS: number };
    const hi = pts[i] as { batch: number; framesPerS: number };
    if (batch <= hi.batch) {
      const t = (batch - lo.batch) / (hi.batch - lo.batch);
      return lo.framesPerS + t * (hi.framesPerS - lo.framesPerS);
    }
  }
  return (pts[pts.length - 1] as { framesPerS: number }).framesPerS;
}
