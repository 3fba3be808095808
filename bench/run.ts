import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { resolveFfmpeg } from '../src/media/ffmpeg-path.ts';
import { describeError } from '../src/errors.ts';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.ts';
import { describeSessions, openGraphs } from './harness/graphs.ts';
import { ensureMediaFile } from './harness/media-file.ts';
import { publisherFfmpeg } from './harness/publisher-ffmpeg.ts';
import { describeMachine, loadAverage } from './machine.ts';
import { measureCeiling } from './parts/ceiling.ts';
import { runNaive } from './parts/naive.ts';
import { runSaturationStep, type StepContext } from './parts/saturation.ts';
import { runSoak } from './parts/soak.ts';
import { ceilingSection, naiveSection, saturationSection, soakSection, targetsSection } from './report/markdown.ts';
import { checkTargets } from './report/targets.ts';
import type { BenchReport } from './report/types.ts';
import { writeOutputs } from './report/write.ts';

/**
 * `npm run bench [-- --quick]`: ceiling, saturation, soak and naive reference in one run, each
 * printed as it finishes, then JSON + Markdown + SVG into --out (and docs/ with --docs).
 */
const FIXTURE = 'test/fixtures/avin-tiny-random';
const FPS = 30;
const log = (line: string) => process.stderr.write(`${line}\n`);

function pickModel(opts: BenchOptions, config: Config): { dir: string; why: string } {
  if (opts.model !== null) return { dir: opts.model, why: 'chosen with --model' };
  if (existsSync(join(config.model.dir, 'model.json'))) return { dir: config.model.dir, why: "the service's default model" };
  log(`bench: the default model ${config.model.dir} is not there; using the plumbing fixture ${FIXTURE} instead`);
  return { dir: FIXTURE, why: `fixture: the default ${config.model.dir} was absent` };
}

async function main(argv: string[]): Promise<void> {
  const parsed = parseBenchArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const opts = parsed;
  const t0 = performance.now();
  const defaults = loadConfig({ env: {} });
  const model = pickModel(opts, defaults);
  const modelFlags = {
    dir: model.dir,
    device: opts.device,
    ...(opts.intraOpThreads !== null ? { intraOpThreads: opts.intraOpThreads } : {}),
    ...(opts.worker !== null ? { worker: opts.worker } : {}),
  };
  const config = loadConfig({ env: {}, flags: { model: modelFlags } });
  // The service's ffmpeg (for the naive reference's decoders) and the publishers' (see publisher-ffmpeg.ts).
  const ffmpeg = resolveFfmpeg();
  const pubFfmpeg = publisherFfmpeg();
  const machine = describeMachine(pubFfmpeg.path);
  const report: BenchReport = {
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    finishedAt: '',
    wallS: 0,
    options: opts,
    machine,
    loadAtStart: loadAverage(),
    loadAtEnd: '',
    model: { dir: model.dir, name: '?', why: model.why },
    sessions: describeSessions(config),
    service: opts.noPreview ? 'defaults, previews off (--no-preview)' : 'default config (JPEG previews on)',
    fps: FPS,
    targets: [],
    notes: [],
  };
  log(`bench: ${opts.quick ? 'quick' : 'full'} run, parts ${opts.parts.join(', ')}; model ${model.dir}; load ${report.loadAtStart}`);
  const media = await ensureMediaFile(pubFfmpeg.path, join(opts.outDir, 'media'));
  // Frames per second × audio windows per second: the audio embedding is refreshed at its cadence.
  const audioPerFrame = Math.min(1, 1000 / config.pipeline.audioCadenceMs / FPS);

  const graphs = await openGraphs(config);
  (report.model as { name: string }).name = `${graphs.card.name} ${graphs.card.version}`;
  const { sampleRate, windowSeconds } = graphs.card.audio;
  if (opts.parts.includes('ceiling')) {
    log('bench: 1/4 ceiling');
    report.ceiling = await measureCeiling(graphs, opts.batches, opts.ceilingS, audioPerFrame, (row) =>
      log(`  ${row.graph} batch ${row.batch}: ${row.itemsPerS.toFixed(0)} items/s (call p50 ${row.callMs.p50.toFixed(2)} ms)`),
    );
    process.stdout.write(`${ceilingSection(report)}\n\n`);
  }
  // Idle sessions hold thread pools; release them so the service has the machine to itself.
  await graphs.close();

  const ctx: StepContext = {
    ffmpeg: pubFfmpeg,
    media,
    model: modelFlags,
    ...(opts.noPreview ? { overrides: { preview: { enabled: false } } } : {}),
    log,
    loadAverage,
  };
  if (opts.parts.includes('saturation')) {
    log('bench: 2/4 saturation');
    report.saturation = [];
    for (const n of opts.streams) {
      log(`  N=${n}: ${opts.durationS} s`);
      const step = await runSaturationStep(ctx, n, opts.durationS);
      report.saturation.push(step);
      log(`  N=${n}: ${step.stats.heatmapsPerS.toFixed(1)} heatmaps/s, batch ${step.stats.batchMean.toFixed(1)}, p99 ${step.stats.decodedToRecvMs.p99.toFixed(0)} ms, skipped ${(100 * step.stats.skippedFraction).toFixed(0)}%, load ${step.load}`);
      report.notes.push(...step.notes.map((x) => `saturation N=${n}: ${x}`));
    }
    process.stdout.write(`${saturationSection(report)}\n\n`);
  }
  if (opts.parts.includes('soak')) {
    log(`bench: 3/4 soak, ${opts.soakS} s`);
    report.soak = await runSoak(ctx, opts.soakStreams, opts.soakS, opts.soakWindowS);
    report.notes.push(...report.soak.notes.map((x) => `soak: ${x}`));
    process.stdout.write(`${soakSection(report)}\n\n`);
  }
  if (opts.parts.includes('naive')) {
    log(`bench: 4/4 naive reference, ${opts.naiveS} s`);
    const runner = await openGraphs(config);
    try {
      report.naive = await runNaive(runner, media, ffmpeg, opts.soakStreams, opts.naiveS, sampleRate, windowSeconds, loadAverage);
    } finally {
      await runner.close();
    }
    process.stdout.write(`${naiveSection(report)}\n\n`);
  }
  if (opts.device === 'cuda') report.notes.push('--device cuda was passed to the service and the ceiling sessions.');
  report.loadAtEnd = loadAverage();
  report.finishedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  report.wallS = (performance.now() - t0) / 1000;
  report.targets = checkTargets(report);
  process.stdout.write(`${targetsSection(report)}\n\n`);

  const written = writeOutputs(report, opts.outDir, opts.docs);
  log(`bench: wrote ${written.join(', ')} in ${report.wallS.toFixed(0)} s; load ${report.loadAtEnd}`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${describeError(err)}\n`);
    process.exit(1);
  },
);
