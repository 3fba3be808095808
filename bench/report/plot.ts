import { ceilingAt } from '../parts/ceiling.ts';
import { latencyBudgetMs } from './targets.ts';
import { renderFigure, type Panel } from './svg.ts';
import type { BenchReport } from './types.ts';

/** The report's figure: throughput and latency against N, latency and memory over time. */
export function renderPlot(r: BenchReport): string {
  const panels: Panel[] = [];
  const steps = r.saturation ?? [];
  if (steps.length > 0) {
    const xTicks = steps.map((s) => s.streams);
    panels.push({
      title: 'Throughput vs streams',
      xLabel: 'streams (N)',
      yLabel: 'heatmaps / s',
      xTicks,
      logX: true,
      series: [
        { name: 'delivered to subscriber', color: '#1f77b4', markers: true, points: steps.map((s) => [s.streams, s.stats.heatmapsPerS]) },
        { name: 'decoded by the service', color: '#2ca02c', markers: true, points: steps.map((s) => [s.streams, s.stats.decoded / s.stats.seconds]) },
        ...(r.ceiling ? [{ name: 'model ceiling at the batch used', color: '#d62728', dashed: true, markers: true, points: steps.map((s) => [s.streams, ceilingAt(r.ceiling!, s.stats.batchMean)] as const) }] : []),
        ...(r.fair ? [{ name: 'fair ceiling (min of decode-only, model-only)', color: '#9467bd', dashed: true, markers: true, points: r.fair.rows.map((x) => [x.streams, x.fairCeiling] as const) }] : []),
        ...(r.heavy?.saturation ? [{ name: 'heavy regime: delivered', color: '#8c564b', markers: true, points: r.heavy.saturation.map((s) => [s.streams, s.stats.heatmapsPerS] as const) }] : []),
        ...(r.heavy?.fair ? [{ name: 'heavy regime: fair ceiling', color: '#e377c2', dashed: true, markers: true, points: r.heavy.fair.rows.map((x) => [x.streams, x.fairCeiling] as const) }] : []),
        { name: `offered (N x ${r.fps} fps)`, color: '#999', dashed: true, points: steps.map((s) => [s.streams, s.streams * r.fps]) },
      ],
    });
    panels.push({
      title: 'Latency vs streams (decoded → received)',
      xLabel: 'streams (N)',
      yLabel: 'ms',
      xTicks,
      logX: true,
      series: [
        { name: 'p50', color: '#2ca02c', markers: true, points: steps.map((s) => [s.streams, s.stats.decodedToRecvMs.p50]) },
        { name: 'p99', color: '#ff7f0e', markers: true, points: steps.map((s) => [s.streams, s.stats.decodedToRecvMs.p99]) },
        { name: 'p99 budget (batch inference + 2 frames)', color: '#d62728', dashed: true, points: steps.map((s) => [s.streams, latencyBudgetMs(s.stats.inferenceMs.p50, r.fps)]) },
      ],
    });
  }
  if (r.soak || r.naive) {
    panels.push({
      title: 'Latency over time: pipeline vs naive',
      xLabel: 'seconds',
      yLabel: 'ms',
      logY: true,
      series: [
        ...(r.soak
          ? [
              { name: `avloc, ${r.soak.streams} streams, decoded→recv p99 per s`, color: '#1f77b4', points: r.soak.samples.map((s) => [s.t, s.decodedToRecvP99] as const) },
              { name: 'avloc, decoded→recv p50 per s', color: '#2ca02c', points: r.soak.samples.map((s) => [s.t, s.decodedToRecvP50] as const) },
              { name: 'avloc, publisher→recv p50 per s', color: '#17becf', dashed: true, points: r.soak.samples.map((s) => [s.t, s.publisherToRecvP50] as const) },
            ]
          : []),
        ...(r.naive ? [{ name: `naive, ${r.naive.streams} streams, decoded→done p50 per s`, color: '#d62728', points: r.naive.samples.map((s) => [s.t, s.latencyP50] as const) }] : []),
      ],
    });
  }
  if (r.soak) {
    panels.push({
      title: 'Memory over the soak',
      xLabel: 'seconds',
      yLabel: 'RSS MiB',
      series: [
        { name: 'service process', color: '#9467bd', points: r.soak.samples.map((s) => [s.t, s.serviceRssMiB]) },
        { name: 'its ffmpeg decoders (sum)', color: '#8c564b', points: r.soak.samples.map((s) => [s.t, s.decodersRssMiB]) },
      ],
    });
  }
  const caption = `${r.machine.cpuModel}, ${r.machine.cores} cores, load ${r.loadAtStart} → ${r.loadAtEnd}; model ${r.model.name}; ${r.options.quick ? 'quick' : 'full'} run ${r.startedAt}`;
  return renderFigure('avloc bench', caption, panels, 2);
}
