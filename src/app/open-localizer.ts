import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { AvlocError } from '../errors.ts';
import { OrtLocalizer } from '../inference/localizer.ts';
import type { Logger } from '../log.ts';
import { resolveConfigPath } from './paths.ts';

/**
 * Opens the configured model bundle with the configured sessions, for the live service and for
 * offline analysis alike, and logs what was loaded. A missing default bundle gets a hint.
 */
export const DEFAULT_MODEL_DIR = 'models/avin-synth';

export async function openLocalizer(config: Pick<Config, 'model' | 'pipeline'>, log: Logger): Promise<OrtLocalizer> {
  const dir = resolveConfigPath(config.model.dir);
  if (!existsSync(dir)) {
    const hint =
      config.model.dir === DEFAULT_MODEL_DIR
        ? ' (the bundled default model is missing from this checkout; pass --model test/fixtures/avin-tiny-random for a random-weight plumbing model)'
        : '';
    throw new AvlocError('MODEL_INVALID', `model bundle folder not found: ${dir}${hint}`);
  }
  const localizer = await OrtLocalizer.open(dir, {
    device: config.model.device,
    ...(config.model.intraOpThreads > 0 ? { intraOpNumThreads: config.model.intraOpThreads } : {}),
    interOpNumThreads: config.model.interOpThreads,
    maxBatchSize: config.pipeline.maxBatch,
  });
  for (const w of localizer.warnings) log.warn(`model: ${w}`);
  const { card } = localizer;
  log.info('model loaded', {
    dir,
    name: card.name,
    device: localizer.device,
    input: `${card.visual.width}x${card.visual.height}`,
    grid: card.visual.grid,
    audio: `${card.audio.sampleRate} Hz x ${card.audio.windowSeconds} s`,
  });
  return localizer;
}
