import { ceilingAt } from '../parts/ceiling.ts';
import type { BenchReport, TargetCheck } from './types.ts';

/**
 * The issue's four targets, judged from the figures of this run only. Each check states the
 * numbers it used, so a reader can disagree with the verdict without rerunning anything.
 */
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : 'n/a');

/** p99 budget of a step: one batch's in-service inference time (its p50) plus two frame periods. */
export function latencyBudgetMs(inferenceP50: number, fps: number): number {
  return inferenceP50 + 2 * (1000 / fps);
}

/**
 * Latency "grows" when the last window's value exceeds the first's by more than 10%, or, for the
 * end-to-end latency whose first window can sit near zero, by more than 10% or two frame periods,
 * whichever is larger. End to end is publisher → received when the send origin is known (it
 * catches decoders falling behind real time, which decoded → received cannot see).
 */
function soakFlatness(r: BenchReport): { ok: boolean; latencyOk: boolean; figures: string; latencyFigures: string } | null {
  const s = r.soak;
  if (!s) return null;
  const a = s.first.stats;
  const b = s.last.stats;
  const rel = (x: number, y: number) => (y - x) / x;
  const g50 = rel(a.decodedToRecvMs.p50, b.decodedToRecvMs.p50);
  const g99 = rel(a.decodedToRecvMs.p99, b.decodedToRecvMs.p99);
  const e2eA = a.publisherToRecvMs ?? a.captureToRecvMs;
  const e2eB = b.publisherToRecvMs ?? b.captureToRecvMs;
  const e2eName = a.publisherToRecvMs ? 'publisher→recv' : 'capture→recv';
  const e2eGrowth = e2eB.p50 - e2eA.p50;
  const e2eOk = e2eGrowth <= Math.max(0.1 * Math.abs(e2eA.p50), 2000 / r.fps);
  const grss = rel(s.first.serviceRssMiB.mean, s.last.serviceRssMiB.mean);
  const latencyOk = g50 <= 0.1 && g99 <= 0.1 && e2eOk;
  const latencyFigures =
    `decoded→recv p50 ${f1(a.decodedToRecvMs.p50)} -> ${f1(b.decodedToRecvMs.p50)} ms (${pct(g50)}), ` +
    `p99 ${f1(a.decodedToRecvMs.p99)} -> ${f1(b.decodedToRecvMs.p99)} ms (${pct(g99)}), ` +
    `${e2eName} p50 ${f0(e2eA.p50)} -> ${f0(e2eB.p50)} ms (${e2eGrowth >= 0 ? '+' : ''}${f0(e2eGrowth)} ms)`;
  return {
    // Memory within ±5 % end to end (a shrinking RSS is fine for latency, but says warm-up was in the first window).
    ok: latencyOk && Math.abs(grss) <= 0.05,
    latencyOk,
    latencyFigures,
    figures: `${latencyFigures}, service RSS ${f0(s.first.serviceRssMiB.mean)} -> ${f0(s.last.serviceRssMiB.mean)} MiB (${pct(grss)})`,
  };
}

/** p99 decoded→received within one batch's inference plus two frame periods, at every N of one regime. */
function latencyTarget(label: string, steps: NonNullable<BenchReport['saturation']>, fps: number): TargetCheck {
  const target = `p99 latency <= one batch inference + two frame periods, at every N (${label})`;
  if (steps.length === 0) return { target, met: null, figures: 'saturation not run' };
  const rows = steps.map((s) => {
    const budget = latencyBudgetMs(s.stats.inferenceMs.p50, fps);
    return { s, budget, ok: s.stats.decodedToRecvMs.p99 <= budget };
  });
  return {
    target,
    met: rows.every((x) => x.ok),
    figures: rows.map((x) => `N=${x.s.streams}: p99 ${f0(x.s.stats.decodedToRecvMs.p99)} ms vs ${f0(x.budget)} ms${x.ok ? '' : ' (over)'}`).join('; '),
  };
}

/** delivered >= 0.9 × fair ceiling at every N of one regime. */
function fairTarget(label: string, fair: BenchReport['fair']): TargetCheck {
  const target = `Delivers >= 90% of the fair ceiling at every N (${label})`;
  if (!fair || fair.rows.length === 0) return { target, met: null, figures: 'fair ceiling not run' };
  return {
    target,
    met: fair.rows.every((x) => x.fairCeilingRatio >= 0.9),
    figures: fair.rows.map((x) => `N=${x.streams}: ${f1(x.delivered)}/s of ${f1(x.fairCeiling)}/s (${x.bound}-bound) = ${pct(x.fairCeilingRatio)}`).join('; '),
  };
}

export function checkTargets(r: BenchReport): TargetCheck[] {
  const out: TargetCheck[] = [];
  const steps = r.saturation ?? [];
  if (steps.length > 0 && r.ceiling) {
    const ceiling = r.ceiling;
    // "At saturation": the steps where frames were being skipped, i.e. demand exceeded what got analyzed.
    const saturated = steps.filter((s) => s.stats.skippedFraction > 0.05);
    const judged = saturated.length > 0 ? saturated : steps.slice(-1);
    const parts = judged.map((s) => {
      const c = ceilingAt(ceiling, s.stats.batchMean);
      return { s, ratio: s.stats.heatmapsPerS / c, c };
    });
    const best = parts.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    out.push({
      target: 'At saturation the pipeline delivers >= 90% of the ceiling',
      met: best.ratio >= 0.9,
      figures:
        (saturated.length > 0 ? '' : 'no step skipped > 5% of frames (never model-bound); judged at the largest N: ') +
        parts.map((p) => `N=${p.s.streams}: ${f1(p.s.stats.heatmapsPerS)}/s vs ceiling ${f0(p.c)}/s at mean batch ${f1(p.s.stats.batchMean)} = ${pct(p.ratio)}`).join('; '),
    });
  } else out.push({ target: 'At saturation the pipeline delivers >= 90% of the ceiling', met: null, figures: 'ceiling or saturation not run' });

  out.push(latencyTarget('default model', steps, r.fps));

  const flat = r.soak ? soakFlatness(r) : null;
  if (r.soak && flat) {
    out.push({
      target: `No growth over the soak (${r.soak.first.label} vs ${r.soak.last.label}: latency within 10%, RSS within ±5%)`,
      met: flat.ok,
      figures: flat.figures,
    });
  } else out.push({ target: 'No growth over the soak', met: null, figures: 'soak not run' });

  if (r.naive) {
    const n = r.naive;
    const naiveBehind = n.donePerS < 0.95 * n.arrivedPerS && n.latencyLast.p50 > n.latencyFirst.p50 + 100;
    const oursFlat = flat ? flat.latencyOk : null;
    out.push({
      target: 'The naive reference falls behind while ours stays flat',
      met: oursFlat === null ? null : naiveBehind && oursFlat,
      figures:
        `naive (${n.streams} streams): ${f1(n.donePerS)} frames/s done of ${f1(n.arrivedPerS)}/s arriving, latency p50 ${f0(n.latencyFirst.p50)} -> ${f0(n.latencyLast.p50)} ms, ` +
        `slope ${f1(n.latencySlopeMsPerS)} ms/s, backlog ${n.finalBacklog}${n.stoppedEarly ? ` (stopped early: ${n.stoppedEarly})` : ''}` +
        (flat ? `; ours (soak, ${r.soak?.streams} streams): ${flat.latencyFigures}` : '; ours: soak not run'),
    });
  } else out.push({ target: 'The naive reference falls behind while ours stays flat', met: null, figures: 'naive not run' });
  // The fair ceiling's targets, and the heavy regime's latency, after the four above.
  out.push(fairTarget('default model', r.fair));
  if (r.heavy) {
    out.push(fairTarget('heavy regime', r.heavy.fair));
    if (r.heavy.saturation) out.push(latencyTarget('heavy regime', r.heavy.saturation, r.fps));
  }
  return out;
}
