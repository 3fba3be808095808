import { table } from './table.ts';
import type { BenchReport } from './types.ts';

/** The fair-ceiling table: per N, decode-only, model-only, their minimum, and delivered against it. */
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');

function batchMix(sizes: Readonly<Record<string, number>>): string {
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  if (total === 0) return '–';
  return Object.entries(sizes)
    .filter(([, n]) => n / total >= 0.05)
    .map(([b, n]) => `${b}: ${f0((100 * n) / total)}%`)
    .join(', ');
}

export function fairSection(r: BenchReport): string {
  const f = r.fair;
  if (!f || f.rows.length === 0) return '';
  const rows = f.rows.map((x) => [
    String(x.streams),
    f0(x.offeredFps),
    f1(x.decodeOnlyFps),
    f1(x.modelOnlyFps),
    f2(x.audioPerFrame),
    batchMix(x.batchSizes),
    f1(x.fairCeiling),
    x.bound,
    f1(x.delivered),
    pct(x.fairCeilingRatio),
  ]);
  return [
    '### 2b. Fair ceiling: decode-only and model-only for the same N',
    '',
    `*Decode-only*: the service's own decoders (live mode, the service's preview and frame-cap settings, so the same ffmpeg arguments) on N copies of the file read in real time ` +
      `(\`-re -stream_loop -1\`), no model and no service, ${f.decodeSeconds} s measured. ` +
      "*Model-only*: the bundle's graphs, in-process, at the batch sizes the service used in that N's step (share of heatmaps per batch size shown, sizes under 5% left out of the column, not of the figure), " +
      'with the audio graph at the service\'s cadence per *analyzed* frame at the fair ceiling\'s per-stream rate (audio/frame). ' +
      '*Fair ceiling* = min(decode-only, model-only); *of fair* = delivered / fair ceiling.',
    '',
    table(['N', 'offered fps', 'decode-only fps', 'model-only fps', 'audio/frame', 'batch sizes (share)', 'fair ceiling /s', 'bound', 'delivered heatmaps/s', 'of fair'], rows),
  ].join('\n');
}
