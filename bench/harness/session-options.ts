import type { Config } from '../../src/config/schema.ts';
import type { LocalizerOptions } from '../../src/inference/localizer.ts';

/**
 * The Localizer options the service derives from its config. TEMPORARY mirror until server.ts
 * exports its own mapping: 0 intra-op threads means "let the Localizer pick" (min(4, cores)).
 */
export function localizerOptionsFor(config: Config): LocalizerOptions {
  const m = config.model;
  return {
    device: m.device,
    ...(m.intraOpThreads > 0 ? { intraOpNumThreads: m.intraOpThreads } : {}),
    interOpNumThreads: m.interOpThreads,
  };
}
