import { AvlocError } from '../errors.ts';
import type { Peak } from '../pipeline/types.ts';
import type { SoundingCard } from './model-card.ts';

/**
 * The heatmap of docs/MODEL_CONTRACT.md "Heatmap": heatmap[y, x] = Σ_c features[c, y, x] · embedding[c],
 * a cosine similarity on the h×w grid (both inputs L2-normalised by the graphs). No display
 * normalisation here — that is the consumer's choice. Pure functions; `out` lets callers reuse buffers.
 */
export function computeHeatmap(
  features: Float32Array,
  embedding: Float32Array,
  channels: number,
  gridH: number,
  gridW: number,
  out?: Float32Array,
): Float32Array {
  const hw = gridH * gridW;
  if (features.length !== channels * hw || embedding.length !== channels) {
    throw new AvlocError(
      'INTERNAL',
      `heatmap: features has ${features.length} values (want ${channels}×${gridH}×${gridW}), embedding ${embedding.length} (want ${channels})`,
    );
  }
  const map = out ?? new Float32Array(hw);
  if (map.length !== hw) throw new AvlocError('INTERNAL', `heatmap: out has ${map.length} cells, grid has ${hw}`);
  map.fill(0);
  // Channel-major loop: features is [C, h, w], so each channel plane is read contiguously.
  for (let c = 0; c < channels; c++) {
    const e = embedding[c]!;
    const base = c * hw;
    for (let i = 0; i < hw; i++) map[i]! += features[base + i]! * e;
  }
  return map;
}

/** The grid cell with the largest value (first one on ties; NaN cells never win) and its centre in [0, 1]. */
export function findPeak(heatmap: Float32Array, gridH: number, gridW: number): Peak {
  if (heatmap.length !== gridH * gridW || heatmap.length === 0) {
    throw new AvlocError('INTERNAL', `peak: heatmap has ${heatmap.length} cells, grid is ${gridH}×${gridW}`);
  }
  let best = 0;
  let value = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < heatmap.length; i++) {
    const v = heatmap[i]!;
    if (v > value) {
      value = v;
      best = i;
    }
  }
  const x = best % gridW;
  const y = Math.floor(best / gridW);
  return { x, y, u: (x + 0.5) / gridW, v: (y + 0.5) / gridH, value: value === Number.NEGATIVE_INFINITY ? Number.NaN : value };
}

/**
 * P(something in view is sounding) from the frame's peak cosine and its audio window's level, by
 * the card's logistic fit (z = a·peak + level·dBFS + b); null when the bundle has no calibration
 * or the peak is not a number (a broken model).
 */
export function soundingScore(peak: Peak, windowDb: number, cal: SoundingCard | undefined): number | null {
  if (!cal || !Number.isFinite(peak.value)) return null;
  const z = cal.logistic.a * peak.value + (cal.logistic.level ?? 0) * windowDb + cal.logistic.b;
  return 1 / (1 + Math.exp(-z));
}

/** RMS level of an audio window in dBFS, floored at -100 (digital silence). */
export function levelDb(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  const rms = samples.length > 0 ? Math.sqrt(sum / samples.length) : 0;
  return Math.max(-100, 20 * Math.log10(rms + 1e-12));
}
