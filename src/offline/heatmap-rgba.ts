// The viewer's colour tables, so a saved overlay looks like the live one.
import { buildLut, type ColormapName } from '../wire/colormap.ts';

/**
 * One heatmap as a tiny RGBA image at grid size (h×w pixels), for the encoder to upsample
 * (bicubic) and alpha-blend over the frame. Display normalisation is per-frame min–max, as in the
 * AVIN evaluation code; alpha grows with the normalised value, so cold cells leave the picture
 * visible and the peak is coloured most. Pure; `out` lets the caller reuse one buffer.
 */
export interface HeatmapRgbaOptions {
  readonly colormap?: ColormapName;
  /** Alpha at the hottest cell, 0..1. Default 0.6. */
  readonly opacity?: number;
}

export class HeatmapPainter {
  private readonly lut: Uint8Array;
  private readonly opacity: number;

  constructor(opts: HeatmapRgbaOptions = {}) {
    this.lut = buildLut(opts.colormap ?? 'turbo');
    this.opacity = Math.min(1, Math.max(0, opts.opacity ?? 0.6));
  }

  paint(values: Float32Array, out: Uint8Array = new Uint8Array(values.length * 4)): Uint8Array {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi > lo ? hi - lo : 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      // A flat or broken map (span 0, NaN) paints nothing rather than a misleading colour.
      const n = span > 0 && Number.isFinite(v) ? (v - lo) / span : 0;
      const k = Math.round(n * 255);
      out[i * 4] = this.lut[k * 3]!;
      out[i * 4 + 1] = this.lut[k * 3 + 1]!;
      out[i * 4 + 2] = this.lut[k * 3 + 2]!;
      out[i * 4 + 3] = Math.round(255 * this.opacity * n);
    }
    return out;
  }
}
