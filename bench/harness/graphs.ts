import { openLocalizer } from '../../src/app/open-localizer.ts';
import type { Config } from '../../src/config/schema.ts';
import { windowSamples, type ModelCard } from '../../src/inference/model-card.ts';
import { createLogger } from '../../src/log.ts';

/**
 * Calls a bundle's two graphs through the service's own openLocalizer (same loader, card checks and
 * session options), always in-process (model.worker off): the ceiling is the raw model, without
 * the worker's message passing. The only extra work per call is the Localizer copying inputs into
 * its preallocated tensor, which the service pays too.
 * Fixed inputs are built once per batch size and reused, so the measurement is the call alone.
 */
export interface GraphRunner {
  readonly card: ModelCard;
  readonly height: number;
  readonly width: number;
  readonly samples: number;
  readonly describe: string;
  /** One call on fixed inputs of this batch size. */
  visual(batch: number): Promise<void>;
  audio(batch: number): Promise<void>;
  /** One call on real data, batch 1. */
  visualOn(rgb: Uint8Array): Promise<void>;
  audioOn(wave: Float32Array): Promise<void>;
  close(): Promise<void>;
}

export function describeSessions(config: Pick<Config, 'model' | 'pipeline'>): string {
  const m = config.model;
  return [
    `device=${m.device}`,
    `intraOp=${m.intraOpThreads > 0 ? m.intraOpThreads : 'measured at start (1, 2, 4 … up to min(4, cores))'}`,
    `interOp=${m.interOpThreads}`,
    `service inference in a worker thread: ${m.worker ? 'yes' : 'no'}`,
  ].join(', ');
}

export async function openGraphs(config: Pick<Config, 'model' | 'pipeline'>): Promise<GraphRunner> {
  const loc = await openLocalizer({ ...config, model: { ...config.model, worker: false } }, createLogger('bench', 'warn'));
  const card = loc.card;
  const { height, width } = card.visual;
  const samples = windowSamples(card);
  const frames = new Map<number, Uint8Array[]>();
  const windows = new Map<number, Float32Array[]>();
  const framesOf = (b: number) => {
    let f = frames.get(b);
    if (!f) {
      f = Array.from({ length: b }, (_, k) => {
        const d = new Uint8Array(height * width * 3);
        // Non-constant pixels: some kernels short-cut on zeros.
        for (let i = 0; i < d.length; i++) d[i] = ((i + k * 7919) * 2654435761) >>> 24;
        return d;
      });
      frames.set(b, f);
    }
    return f;
  };
  const windowsOf = (b: number) => {
    let w = windows.get(b);
    if (!w) {
      w = Array.from({ length: b }, (_, k) => {
        const d = new Float32Array(samples);
        for (let i = 0; i < d.length; i++) d[i] = 0.3 * Math.sin(i * (0.05 + 0.001 * k));
        return d;
      });
      windows.set(b, w);
    }
    return w;
  };
  return {
    card,
    height,
    width,
    samples,
    describe: describeSessions(config),
    async visual(b) {
      await loc.embedVisual(framesOf(b));
    },
    async audio(b) {
      await loc.embedAudio(windowsOf(b));
    },
    async visualOn(rgb) {
      await loc.embedVisual([rgb]);
    },
    async audioOn(wave) {
      await loc.embedAudio([wave]);
    },
    close: () => loc.close(),
  };
}
