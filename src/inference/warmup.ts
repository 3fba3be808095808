import { windowSamples } from './model-card.ts';
import type { Localizer } from './localizer.ts';

/**
 * Runs both graphs once at every batch size from `maxBatch` down to 1, before the service takes
 * streams. ONNX Runtime's CPU arena grows to the largest batch it has seen and keeps that memory
 * for reuse (measured with the default model: RSS 161 MB after batch 1, 306 MB after one batch
 * of 8, still 306 MB back at batch 1), and each new shape pays its kernel and buffer set-up on its
 * first call. Paying both here makes the service's footprint known at start instead of discovered
 * under load, and means streams coming and going cannot push memory above it. Largest first, so
 * the arena is sized once and the smaller shapes reuse it.
 */
export interface WarmUpResult {
  readonly batches: number;
  readonly ms: number;
}

export async function warmUp(localizer: Localizer, maxBatch: number): Promise<WarmUpResult> {
  const { height, width } = localizer.card.visual;
  const frame = new Uint8Array(height * width * 3);
  const window = new Float32Array(windowSamples(localizer.card));
  const t0 = performance.now();
  for (let b = maxBatch; b >= 1; b--) {
    await localizer.embedVisual(Array.from({ length: b }, () => frame));
    await localizer.embedAudio(Array.from({ length: b }, () => window));
  }
  return { batches: maxBatch, ms: performance.now() - t0 };
}
