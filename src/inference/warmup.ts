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
 *
 * Then the visual graph is timed once more at every size, now that each shape is set up: what a
 * frame costs in a batch of b (efficientBatch below uses it).
 */
export interface WarmUpResult {
  readonly batches: number;
  readonly ms: number;
  /** Milliseconds per frame of the visual graph at batch 1, 2, … maxBatch (index b − 1); null when not timed. */
  readonly visualMsPerFrame: readonly number[] | null;
}

/** `timeBatches`: also time each visual batch size (only the live service's adaptive batch uses it). */
export async function warmUp(localizer: Localizer, maxBatch: number, timeBatches = true): Promise<WarmUpResult> {
  const { height, width } = localizer.card.visual;
  const frame = new Uint8Array(height * width * 3);
  const window = new Float32Array(windowSamples(localizer.card));
  const t0 = performance.now();
  for (let b = maxBatch; b >= 1; b--) {
    await localizer.embedVisual(Array.from({ length: b }, () => frame));
    await localizer.embedAudio(Array.from({ length: b }, () => window));
  }
  if (!timeBatches) return { batches: maxBatch, ms: performance.now() - t0, visualMsPerFrame: null };
  const visualMsPerFrame: number[] = [];
  for (let b = 1; b <= maxBatch; b++) {
    const t = performance.now();
    await localizer.embedVisual(Array.from({ length: b }, () => frame));
    visualMsPerFrame.push((performance.now() - t) / b);
  }
  return { batches: maxBatch, ms: performance.now() - t0, visualMsPerFrame };
}

/**
 * The smallest batch whose cost per frame is within `tolerance` of the cheapest measured.
 *
 * Why: at saturation a frame waits for the batch in flight and then for its own, so a batch that
 * does not make frames cheaper only adds latency. On this 2-core CPU a frame of the default model
 * cost about the same at any batch size (15.1–16.8 ms from batch 1 to 8; the bench at 8 streams:
 * 46.5 heatmaps/s at batches of 2 and of 8, p99 202 against 348 ms); on a GPU a batch of 8 costs
 * little more than a batch of 1, and the answer is large.
 */
export function efficientBatch(msPerFrame: readonly number[], tolerance = 0.1): number {
  const finite = msPerFrame.filter((m) => Number.isFinite(m) && m > 0);
  if (finite.length === 0) return Math.max(1, msPerFrame.length);
  const best = Math.min(...finite);
  const i = msPerFrame.findIndex((m) => Number.isFinite(m) && m > 0 && m <= best * (1 + tolerance));
  return i + 1;
}
