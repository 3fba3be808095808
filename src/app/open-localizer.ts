import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { AvlocError } from '../errors.ts';
import { readCard } from '../inference/bundle.ts';
import { OrtLocalizer, type Localizer, type LocalizerOptions } from '../inference/localizer.ts';
import { RemoteLocalizer } from '../inference/remote/remote-localizer.ts';
import { WorkerLocalizer } from '../inference/worker-localizer.ts';
import { openWithBestThreads, type ThreadChoice } from '../inference/thread-choice.ts';
import { warmUp, type WarmUpResult } from '../inference/warmup.ts';
import type { Logger } from '../log.ts';
import { resolveConfigPath } from './paths.ts';

/**
 * Opens the configured model bundle with the configured sessions, for the live service and for
 * offline analysis alike, and logs what was loaded. A missing default bundle gets a hint.
 * With `model.remote` the graphs run on that inference server instead: only the bundle's card
 * is read here, and the server's models are checked against it (RemoteLocalizer.open). A local
 * model is warmed up at every batch size first (warmup.ts) unless model.warmup is off.
 */
export const DEFAULT_MODEL_DIR = 'models/avin-centernet';

export async function openLocalizer(
  config: Pick<Config, 'model' | 'pipeline'>,
  log: Logger,
): Promise<Localizer & { readonly warnings: readonly string[] }> {
  return (await openWarmLocalizer(config, log, false)).localizer;
}

/**
 * openLocalizer, and what its warm-up measured (null: no warm-up, or a remote model);
 * `timeBatches`: also time every visual batch size (for pipeline.adaptiveBatch).
 */
export async function openWarmLocalizer(
  config: Pick<Config, 'model' | 'pipeline'>,
  log: Logger,
  timeBatches = true,
): Promise<{ localizer: Localizer & { readonly warnings: readonly string[] }; warm: WarmUpResult | null }> {
  const dir = resolveConfigPath(config.model.dir);
  if (!existsSync(dir)) {
    const hint =
      config.model.dir === DEFAULT_MODEL_DIR
        ? ' (the bundled default model is missing from this checkout; pass --model test/fixtures/avin-tiny-random for a random-weight plumbing model)'
        : '';
    throw new AvlocError('MODEL_INVALID', `model bundle folder not found: ${dir}${hint}`);
  }
  if (config.model.remote) return { localizer: await openRemote(dir, config.model.remote, log), warm: null };
  const opts: LocalizerOptions = {
    device: config.model.device,
    ...(config.model.intraOpThreads > 0 ? { intraOpNumThreads: config.model.intraOpThreads } : {}),
    interOpNumThreads: config.model.interOpThreads,
    maxBatchSize: config.pipeline.maxBatch,
  };
  // In a worker by default: ORT's session.run is synchronous and would otherwise block the event
  // loop that relays RTMP and reads the decoders' pipes (docs/BENCHMARKS.md).
  let threadChoice: ThreadChoice | null = null;
  let localizer: WorkerLocalizer | OrtLocalizer;
  if (config.model.worker) {
    localizer = await WorkerLocalizer.open(dir, { ...opts, onExit: (err) => log.error(`model: ${err.message}`, { code: err.code }) });
    threadChoice = localizer.threadChoice;
  } else if (opts.intraOpNumThreads === undefined && opts.device === 'cpu') {
    ({ localizer, choice: threadChoice } = await openWithBestThreads(dir, opts));
  } else {
    localizer = await OrtLocalizer.open(dir, opts);
  }
  for (const w of localizer.warnings) log.warn(`model: ${w}`);
  const warm = config.model.warmup ? await warmUp(localizer, config.pipeline.maxBatch, timeBatches) : null;
  const { card } = localizer;
  log.info('model loaded', {
    dir,
    name: card.name,
    device: localizer.device,
    worker: config.model.worker,
    ...(threadChoice ? { intraOpThreads: `${threadChoice.threads} (measured: ${threadChoice.msByThreads.map(([t, ms]) => `${t} → ${ms.toFixed(1)} ms`).join(', ')})` } : {}),
    input: `${card.visual.width}x${card.visual.height}`,
    grid: card.visual.grid,
    audio: `${card.audio.sampleRate} Hz x ${card.audio.windowSeconds} s`,
    ...(warm ? { warmedUp: `batch 1-${warm.batches} in ${warm.ms.toFixed(0)} ms`, ...(warm.visualMsPerFrame ? { visualMsPerFrame: warm.visualMsPerFrame.map((m) => Number(m.toFixed(2))) } : {}) } : {}),
  });
  return { localizer, warm };
}

async function openRemote(dir: string, remote: NonNullable<Config['model']['remote']>, log: Logger): Promise<RemoteLocalizer> {
  const card = await readCard(dir);
  const localizer = await RemoteLocalizer.open(card, remote);
  log.info('model loaded', {
    dir,
    name: card.name,
    device: localizer.device,
    // The URL holds no credentials (the schema refuses them); the token is never logged.
    remote: remote.url,
    models: localizer.models,
    timeoutMs: remote.timeoutMs,
    maxInFlight: remote.maxInFlight,
    input: `${card.visual.width}x${card.visual.height}`,
    grid: card.visual.grid,
    audio: `${card.audio.sampleRate} Hz x ${card.audio.windowSeconds} s`,
  });
  return localizer;
}
