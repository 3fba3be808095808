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
import { ensureHeavyModel } from './harness/heavy-model.ts';
import { runNaive } from './parts/naive.ts';
import { runRegime } from './parts/regime.ts';
import type { StepContext } from './parts/saturation.ts';
import { runSoak } from './parts/soak.ts';
import { naiveSection, regimeSections, soakSection, targetsSection } from './report/markdown.ts';
import { checkTargets } from './report/targets.ts';
import type { BenchReport } from './report/types.ts';
import { writeOutputs } from './report/write.ts';

/**
 * `npm run bench [-- --quick]`: ceiling, saturation and fair ceiling for the default model and
 * again for the heavy regime's (parts/regime.ts), then the soak and the naive reference, each
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

/** The service config sections the run changes from the defaults, and the same in words. */
function serviceOverrides(opts: BenchOptions): Record<string, unknown> | undefined {
  const o: Record<string, unknown> = {};
  if (opts.noPreview) o['preview'] = { enabled: false };
  const pipeline: Record<string, number | boolean> = {};
  if (opts.maxFps !== null) pipeline['maxFpsPerStream'] = opts.maxFps;
  if (opts.noAdaptiveRate) pipeline['adaptiveRate'] = false;
  if (opts.noAdaptiveBatch) pipeline['adaptiveBatch'] = false;
  if (opts.maxBatch !== null) pipeline['maxBatch'] = opts.maxBatch;
  if (Object.keys(pipeline).length > 0) o['pipeline'] = pipeline;
  return Object.keys(o).length > 0 ? o : undefined;
}

function serviceWords(opts: BenchOptions): string {
  const w = [opts.noPreview ? 'previews off (--no-preview)' : 'JPEG previews on'];
  if (opts.maxFps !== null) w.push(`pipeline.maxFpsPerStream = ${opts.maxFps} (--max-fps)`);
  if (opts.maxBatch !== null) w.push(`pipeline.maxBatch = ${opts.maxBatch} (--max-batch)`);
  if (opts.noAdaptiveRate) w.push('pipeline.adaptiveRate = false (--no-adaptive-rate)');
  if (opts.noAdaptiveBatch) w.push('pipeline.adaptiveBatch = false (--no-adaptive-batch)');
  return `default config, ${w.join(', ')}`;
}

async function main(argv: string[]): Promise<void> {
  const parsed = parseBenchArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const opts = parsed;
  const overrides = serviceOverrides(opts);
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
    service: serviceWords(opts),
    fps: FPS,
    targets: [],
    notes: [],
  };
  log(`bench: ${opts.quick ? 'quick' : 'full'} run, parts ${opts.parts.join(', ')}; model ${model.dir}; load ${report.loadAtStart}`);
  const media = await ensureMediaFile(pubFfmpeg.path, join(opts.outDir, 'media'));
  const regime = (label: string, dir: string, why: string, streams: readonly number[], batches: readonly number[]) =>
    runRegime({
      label,
      model: { dir, why },
      modelFlags: { ...modelFlags, dir },
      parts: opts.parts,
      streams,
      batches,
      durationS: opts.durationS,
      ceilingS: opts.ceilingS,
      decodeOnlyS: opts.decodeOnlyS,
      fps: FPS,
      media,
      publisher: pubFfmpeg,
      serviceFfmpeg: ffmpeg,
      ...(overrides ? { overrides } : {}),
      log,
      loadAverage,
      print: (x, part) => process.stdout.write(`${regimeSections({ ...report, ...x, notes: report.notes, options: { ...opts, batches } }, label, part)}\n\n`),
    });
  const main = await regime('default', model.dir, model.why, opts.streams, opts.batches);
  Object.assign(report, { model: main.model, sessions: main.sessions, ceiling: main.ceiling, saturation: main.saturation, fair: main.fair });
  report.notes.push(...main.notes);
  if (opts.heavy !== null && ['ceiling', 'saturation', 'fair'].some((p) => opts.parts.includes(p as never))) {
    const heavy = ensureHeavyModel(opts.heavy, log);
    if ('error' in heavy) report.notes.push(`heavy regime not run: ${opts.heavy} ${heavy.error}`);
    else {
      report.heavy = await regime('heavy', heavy.dir, 'the heavy regime: the full-size architecture, costlier than a frame period here', opts.heavyStreams, opts.heavyBatches);
      report.notes.push(...report.heavy.notes.map((x) => `heavy: ${x}`));
    }
  }
  if (opts.parts.includes('soak')) {
    log(`bench: soak, ${opts.soakS} s`);
    const ctx: StepContext = {
      ffmpeg: pubFfmpeg,
      media,
      model: modelFlags,
      ...(overrides ? { overrides } : {}),
      log,
      loadAverage,
    };
    report.soak = await runSoak(ctx, opts.soakStreams, opts.soakS, opts.soakWindowS, opts.soakReconnectS);
    report.notes.push(...report.soak.notes.map((x) => `soak: ${x}`));
    process.stdout.write(`${soakSection(report)}\n\n`);
  }
  if (opts.parts.includes('naive')) {
    log(`bench: naive reference, ${opts.naiveS} s`);
    const runner = await openGraphs(config);
    try {
      const { sampleRate, windowSeconds } = runner.card.audio;
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
