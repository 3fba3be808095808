import type { Config } from '../../src/config/schema.ts';
import type { LocalizerOptions } from '../../src/inference/localizer.ts';

/**
 * The Localizer options the service derives from its config — a mirror of openLocalizer() in
 * src/server.ts, which does not export it. Keep the two in step (the threads are what matter:
 * 0 intra-op threads means "let the Localizer pick", i.e. min(4, cores)).
 */
export function localizerOptionsFor(config: Config): LocalizerOptions {
  const m = config.model;
  return {
    device: m.device,
    ...(m.intraOpThreads > 0 ? { intraOpNumThreads: m.intraOpThreads } : {}),
    interOpNumThreads: m.interOpThreads,
    maxBatchSize: config.pipeline.maxBatch,
  };
}
