import { ceilingAt } from '../parts/ceiling.ts';
import { fairSection } from './fair-section.ts';
import { table } from './table.ts';
import type { Summary } from '../stats.ts';
import type { BenchReport } from './types.ts';

/**
 * The report as Markdown: the same text is printed to the terminal and written to
 * docs/BENCHMARKS.md, so what a reader sees in the docs is exactly what the command printed.
 */
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');
const trio = (s: Summary | null) => (s ? `${f0(s.p50)} / ${f0(s.p95)} / ${f0(s.p99)}` : '–');

export function machineSection(r: BenchReport): string {
  const m = r.machine;
  return [
    '### Machine',
    '',
    table(
      ['CPU', 'cores', 'memory', 'OS', 'node', 'onnxruntime-node', 'ffmpeg (service)', 'ffmpeg (publishers)', 'load at start → end (1/5/15 min)'],
      [[m.cpuModel, String(m.cores), `${m.memoryGiB} GiB`, m.os, m.node, m.onnxruntime, `${m.ffmpeg} (${m.ffmpegPath})`, m.publisherFfmpeg, `${r.loadAtStart} → ${r.loadAtEnd}`]],
    ),
    '',
    `Model: \`${r.model.dir}\` (${r.model.name}; ${r.model.why}). Sessions: ${r.sessions}. Service: ${r.service ?? 'default config'}. Device: ${r.options.device}.`,
  ].join('\n');
}

export function ceilingSection(r: BenchReport): string {
  const c = r.ceiling;
  if (!c) return '';
  const rows = r.options.batches.map((b) => {
    const v = c.rows.find((x) => x.graph === 'visual' && x.batch === b);
    const a = c.rows.find((x) => x.graph === 'audio' && x.batch === b);
    const fc = c.frameCeiling.find((x) => x.batch === b);
    return [String(b), f0(v?.itemsPerS ?? NaN), f2(v?.callMs.p50 ?? NaN), f0(a?.itemsPerS ?? NaN), f2(a?.callMs.p50 ?? NaN), f0(fc?.framesPerS ?? NaN)];
  });
  return [
    '### 1. Ceiling: the model alone',
    '',
    `Each graph called back to back on fixed inputs, ${r.options.ceilingS} s per point after a warm-up. ` +
      `"Frames/s" combines them the way the service uses them: one visual item per frame plus ${f2(c.audioPerFrame)} audio windows per frame (the audio embedding's cadence).`,
    '',
    table(['batch', 'visual items/s', 'visual call p50 ms', 'audio items/s', 'audio call p50 ms', 'frames/s (ceiling)'], rows),
  ].join('\n');
}

export function saturationSection(r: BenchReport): string {
  const steps = r.saturation;
  if (!steps || steps.length === 0) return '';
  const c = r.ceiling;
  const rows = steps.map((s) => {
    const ceil = c ? ceilingAt(c, s.stats.batchMean) : NaN;
    return [
      String(s.streams),
      `${f0(s.stats.decoded / s.stats.seconds)} / ${f0(s.streams * r.fps)}`,
      f1(s.stats.heatmapsPerS),
      `${f1(s.stats.batchMean)} (${f0(s.stats.batchMode)})`,
      f0(ceil),
      pct(s.stats.heatmapsPerS / ceil),
      trio(s.stats.decodedToRecvMs),
      trio(s.stats.captureToRecvMs),
      trio(s.stats.publisherToRecvMs),
      f1(s.stats.inferenceMs.p50),
      pct(s.stats.skippedFraction),
      pct(s.stats.notAnalyzedFraction),
      `${f0(s.service.cpuPct)}% / ${f0(s.service.rssMiB)}`,
      s.loopDelay ? `${f0(s.loopDelay.p50)} / ${f0(s.loopDelay.p99)} / ${f0(s.loopDelay.max)}` : '–',
      `${f0(s.decoders.cpuPct)}% / ${f0(s.decoders.rssMiB)} (${s.decoders.processes})`,
      `${f0(s.publishers.cpuPct)}% / ${f0(s.publishers.rssMiB)}`,
      s.load.split(' ')[0] ?? '',
    ];
  });
  return [
    '### 2. Saturation: N live streams',
    '',
    `Each N: a fresh service, N publishers sending the pre-encoded 720p30 H.264 + AAC file over RTMP (\`ffmpeg -re -stream_loop -1 -c copy\`), ` +
      `one WebSocket subscriber (binary, all streams), ${r.options.durationS} s measured after every stream delivered plus 2 s. ` +
      'Latencies in ms as p50 / p95 / p99: *decoded→recv* = decoder output to message received; *capture→recv* = the service\'s capture-time estimate ' +
      '(pts + the smallest arrival − pts the decoder has seen) to received; *publisher→recv* = the publisher\'s send time of that frame (its send origin from ffmpeg\'s progress reports + pts) to received. ' +
      'CPU is % of one core averaged over the window; RSS in MiB. The event-loop delay is the service process\'s (perf_hooks, 10 ms resolution): ' +
      'its one loop also relays RTMP and reads the decoders\' pipes, so a blocked loop delays every stream before any skipping can happen. ' +
      'The publishers are the bench\'s, not the service\'s.',
    '',
    table(
      ['N', 'decoded / offered fps', 'heatmaps/s', 'batch mean (mode)', 'ceiling at batch /s', 'of ceiling', 'decoded→recv', 'capture→recv', 'publisher→recv', 'inference p50 ms', 'skipped', 'skipped + dropped', 'service CPU / RSS', 'service event-loop delay p50 / p99 / max ms', 'decoders CPU / RSS (n)', 'publishers CPU / RSS', 'load 1m'],
      rows,
    ),
  ].join('\n');
}

export function soakSection(r: BenchReport): string {
  const s = r.soak;
  if (!s) return '';
  const row = (label: string, st: typeof s.whole, rss: string) => [
    label,
    f1(st.heatmapsPerS),
    trio(st.decodedToRecvMs),
    trio(st.captureToRecvMs),
    trio(st.publisherToRecvMs),
    pct(st.skippedFraction),
    pct(st.notAnalyzedFraction),
    rss,
  ];
  return [
    '### 3. Soak',
    '',
    `${s.seconds} s with ${s.streams} streams, one normal subscriber and one that never reads (subscribed to all streams, JSON with previews). ` +
      `The ends compared are the ${s.first.label} and the ${s.last.label}${r.options.quick ? ' (quick mode: not minutes)' : ''}. ` +
      `The stalled client got ${s.slowClientReceived} messages before its socket backed up. ` +
      (s.reconnects !== undefined ? `Churn: every ${s.reconnectS} s a fifth publisher and a WebSocket client connected and left again ${s.reconnectS / 2} s later (${s.reconnects} rounds); the latencies are the ${s.streams} steady streams'.` : ''),
    '',
    table(
      ['window', 'heatmaps/s', 'decoded→recv p50/p95/p99 ms', 'capture→recv p50/p95/p99 ms', 'publisher→recv p50/p95/p99 ms', 'skipped', 'skipped + dropped', 'service RSS MiB (mean)'],
      [
        row(s.first.label, s.first.stats, f0(s.first.serviceRssMiB.mean)),
        row(s.last.label, s.last.stats, f0(s.last.serviceRssMiB.mean)),
        row('whole run', s.whole, '–'),
      ],
    ),
  ].join('\n');
}

export function naiveSection(r: BenchReport): string {
  const n = r.naive;
  if (!n) return '';
  return [
    '### 4. Naive reference',
    '',
    `The same file decoded by the service's Decoder (${n.streams} streams, \`-re\`), the model called on every frame (visual + audio, batch 1), serially, FIFO, no skipping. ` +
      'Latency is decoder output → result ready (no WebSocket hop: in its favour).',
    '',
    table(
      ['streams', 'frames/s arriving', 'frames/s done', 'latency first p50 / p99 ms', 'latency last p50 / p99 ms', 'growth ms/s', 'backlog at end', 'seconds'],
      [[
        String(n.streams),
        f1(n.arrivedPerS),
        f1(n.donePerS),
        `${f0(n.latencyFirst.p50)} / ${f0(n.latencyFirst.p99)}`,
        `${f0(n.latencyLast.p50)} / ${f0(n.latencyLast.p99)}`,
        f1(n.latencySlopeMsPerS),
        `${n.finalBacklog}${n.stoppedEarly ? ` (${n.stoppedEarly})` : ''}`,
        f0(n.seconds),
      ]],
    ),
  ].join('\n');
}

export function targetsSection(r: BenchReport): string {
  return [
    '### Targets',
    '',
    table(
      ['target', 'met', 'figures'],
      r.targets.map((t) => [t.target, t.met === null ? 'not judged' : t.met ? 'yes' : '**no**', t.figures]),
    ),
  ].join('\n');
}

/**
 * A regime's three parts (ceiling, saturation, fair ceiling). The default regime's keep their
 * headings; the heavy regime's say so in each heading and name the model first.
 */
export function regimeSections(r: BenchReport, label: string, only?: 'ceiling' | 'saturation' | 'fair'): string {
  const parts = { ceiling: ceilingSection, saturation: saturationSection, fair: fairSection };
  const body = (only ? [parts[only](r)] : Object.values(parts).map((f) => f(r))).filter((x) => x !== '').join('\n\n');
  if (label === 'default' || body === '') return body;
  return [`Heavy regime model: \`${r.model.dir}\` (${r.model.name}; ${r.model.why}). Sessions: ${r.sessions}.`, '', body.replace(/^(### .*)$/gm, '$1 (heavy regime)')].join('\n');
}

/** The report with the heavy regime's results in the places the section renderers read. */
export function heavyView(r: BenchReport): BenchReport | null {
  const h = r.heavy;
  if (!h) return null;
  const { ceiling, saturation, fair } = h;
  return { ...r, model: h.model, sessions: h.sessions, ...(ceiling ? { ceiling } : {}), ...(saturation ? { saturation } : {}), ...(fair ? { fair } : {}), options: { ...r.options, batches: r.options.heavyBatches ?? r.options.batches } };
}

export function renderMarkdown(r: BenchReport, plotPath?: string): string {
  const heavy = heavyView(r);
  const out = [
    `## Run of ${r.startedAt} (${r.options.quick ? 'quick' : 'full'}, ${f0(r.wallS)} s)`,
    '',
    `Command: \`${r.command}\``,
    '',
    machineSection(r),
    '',
    targetsSection(r),
    '',
    regimeSections(r, 'default'),
    '',
    heavy ? regimeSections(heavy, 'heavy') : '',
    '',
    soakSection(r),
    '',
    naiveSection(r),
  ];
  if (plotPath) out.push('', `![latency and throughput](${plotPath})`);
  if (r.notes.length > 0) out.push('', '### Notes from this run', '', ...r.notes.map((n) => `- ${n}`));
  return out.filter((x, i, a) => !(x === '' && a[i - 1] === '')).join('\n') + '\n';
}
