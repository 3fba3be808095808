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

  if (steps.length > 0) {
    const rows = steps.map((s) => {
      const budget = latencyBudgetMs(s.stats.inferenceMs.p50, r.fps);
      return { s, budget, ok: s.stats.decodedToRecvMs.p99 <= budget };
    });
    out.push({
      target: 'p99 latency <= one batch inference + two frame periods, at every N',
      met: rows.every((x) => x.ok),
      figures: rows.map((x) => `N=${x.s.streams}: p99 ${f0(x.s.stats.decodedToRecvMs.p99)} ms vs ${f0(x.budget)} ms${x.ok ? '' : ' (over)'}`).join('; '),
    });
  } else out.push({ target: 'p99 latency <= one batch inference + two frame periods, at every N', met: null, figures: 'saturation not run' });

  if (r.soak) {
    const a = r.soak.first;
    const b = r.soak.last;
    const growth = (x: number, y: number) => (y - x) / x;
    const g50 = growth(a.stats.decodedToRecvMs.p50, b.stats.decodedToRecvMs.p50);
    const g99 = growth(a.stats.decodedToRecvMs.p99, b.stats.decodedToRecvMs.p99);
    const grss = growth(a.serviceRssMiB.mean, b.serviceRssMiB.mean);
    out.push({
      target: `No growth over the soak (${a.label} vs ${b.label}: latency and RSS within 10%)`,
      met: g50 <= 0.1 && g99 <= 0.1 && grss <= 0.1,
      figures:
        `latency p50 ${f1(a.stats.decodedToRecvMs.p50)} -> ${f1(b.stats.decodedToRecvMs.p50)} ms (${pct(g50)}), ` +
        `p99 ${f1(a.stats.decodedToRecvMs.p99)} -> ${f1(b.stats.decodedToRecvMs.p99)} ms (${pct(g99)}), ` +
        `service RSS ${f0(a.serviceRssMiB.mean)} -> ${f0(b.serviceRssMiB.mean)} MiB (${pct(grss)})`,
    });
  } else out.push({ target: 'No growth over the soak', met: null, figures: 'soak not run' });

  if (r.naive) {
    const n = r.naive;
    const naiveBehind = n.donePerS < 0.95 * n.arrivedPerS && n.latencyLast.p50 > n.latencyFirst.p50 + 100;
    const oursFlat = r.soak ? r.soak.last.stats.decodedToRecvMs.p99 <= 1.1 * r.soak.first.stats.decodedToRecvMs.p99 : null;
    out.push({
      target: 'The naive reference falls behind while ours stays flat',
      met: oursFlat === null ? null : naiveBehind && oursFlat,
      figures:
        `naive (${n.streams} streams): ${f1(n.donePerS)} frames/s done of ${f1(n.arrivedPerS)}/s arriving, latency p50 ${f0(n.latencyFirst.p50)} -> ${f0(n.latencyLast.p50)} ms, ` +
        `slope ${f1(n.latencySlopeMsPerS)} ms/s, backlog ${n.finalBacklog}${n.stoppedEarly ? ` (stopped early: ${n.stoppedEarly})` : ''}` +
        (r.soak ? `; ours (soak, ${r.soak.streams} streams): p99 ${f0(r.soak.first.stats.decodedToRecvMs.p99)} -> ${f0(r.soak.last.stats.decodedToRecvMs.p99)} ms` : '; ours: soak not run'),
    });
  } else out.push({ target: 'The naive reference falls behind while ours stays flat', met: null, figures: 'naive not run' });
  return out;
}
