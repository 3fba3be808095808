import type { GraphRunner } from '../harness/graphs.ts';
import { measure, type CeilingResult } from './ceiling.ts';
import { measureDecodeOnly, type DecodeOnlyOptions } from './decode-only.ts';
import { fairCeilingRow, interpolatedCost, type FairCeilingRow } from './fair-ceiling.ts';
import type { StepResult } from './saturation.ts';

/**
 * Runs the fair ceiling for every saturation step: decode-only per N (the service closed, nothing
 * else running), then the graphs at every batch size up to the largest the service used, reusing
 * the ceiling part's points where it measured them and timing only the missing sizes.
 */
export interface FairRunOptions {
  readonly steps: readonly StepResult[];
  readonly ceiling: CeilingResult | undefined;
  readonly decode: Omit<DecodeOnlyOptions, 'streams' | 'seconds'>;
  readonly decodeSeconds: number;
  /** Seconds per missing batch size per graph. */
  readonly modelSeconds: number;
  readonly fps: number;
  readonly audioCadenceMs: number;
  readonly openGraphs: () => Promise<GraphRunner>;
  readonly log: (line: string) => void;
}

export interface FairRunResult {
  readonly rows: FairCeilingRow[];
  /** Mean call ms per graph and batch size that model-only used, and where each came from. */
  readonly calls: ReadonlyArray<{ readonly graph: 'visual' | 'audio'; readonly batch: number; readonly ms: number; readonly from: 'ceiling' | 'fair' }>;
  readonly decodeSeconds: number;
  readonly notes: string[];
}

export async function runFairCeiling(o: FairRunOptions): Promise<FairRunResult> {
  const notes: string[] = [];
  const decodeOnly = new Map<number, number>();
  for (const step of o.steps) {
    if (decodeOnly.has(step.streams)) continue;
    const d = await measureDecodeOnly({ ...o.decode, streams: step.streams, seconds: o.decodeSeconds });
    decodeOnly.set(step.streams, d.framesPerS);
    notes.push(...d.notes.map((x) => `decode-only N=${step.streams}: ${x}`));
    o.log(`  decode-only N=${step.streams}: ${d.framesPerS.toFixed(1)} frames/s (offered ${step.streams * o.fps})`);
  }

  const maxBatch = Math.max(1, ...o.steps.flatMap((s) => Object.keys(s.batchSizes ?? {}).map(Number)));
  const calls: Array<FairRunResult['calls'][number]> = [];
  const points = { visual: new Map<number, number>(), audio: new Map<number, number>() };
  for (const row of o.ceiling?.rows ?? []) {
    if (row.batch > maxBatch) continue;
    const ms = (1000 * row.batch) / row.itemsPerS;
    points[row.graph].set(row.batch, ms);
    calls.push({ graph: row.graph, batch: row.batch, ms, from: 'ceiling' });
  }
  const missing = (g: 'visual' | 'audio') => Array.from({ length: maxBatch }, (_, i) => i + 1).filter((b) => !points[g].has(b));
  if (missing('visual').length > 0 || missing('audio').length > 0) {
    const graphs = await o.openGraphs();
    try {
      for (const graph of ['visual', 'audio'] as const) {
        for (const b of missing(graph)) {
          const m = await measure((x) => (graph === 'visual' ? graphs.visual(x) : graphs.audio(x)), b, o.modelSeconds);
          const ms = (1000 * m.elapsedS) / m.runs;
          points[graph].set(b, ms);
          calls.push({ graph, batch: b, ms, from: 'fair' });
          o.log(`  model-only ${graph} batch ${b}: ${ms.toFixed(2)} ms per call`);
        }
      }
    } finally {
      await graphs.close();
    }
  }
  calls.sort((a, b) => (a.graph === b.graph ? a.batch - b.batch : a.graph === 'visual' ? -1 : 1));
  const costs = { visualMs: interpolatedCost(points.visual), audioMs: interpolatedCost(points.audio) };

  const rows = o.steps.map((s) => {
    const hist = new Map(Object.entries(s.batchSizes ?? {}).map(([b, n]) => [Number(b), n] as [number, number]));
    return fairCeilingRow(s.streams, s.streams * o.fps, decodeOnly.get(s.streams) ?? Number.NaN, hist, costs, o.audioCadenceMs, s.stats.heatmapsPerS);
  });
  return { rows, calls, decodeSeconds: o.decodeSeconds, notes };
}
