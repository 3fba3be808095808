/**
 * Colour lookup tables for the heatmap overlay: 256 RGB entries, index = normalised value × 255.
 * A LUT (rather than a per-pixel formula) keeps painting a big overlay to one array read per pixel.
 */
export type ColormapName = 'turbo' | 'jet';

export const COLORMAPS: readonly ColormapName[] = ['turbo', 'jet'];

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/**
 * Turbo (Mikhailov, Google 2019) via its published polynomial fit: perceptually smoother than jet,
 * same blue→red reading, so it is the default.
 */
function turbo(x: number): [number, number, number] {
  const r = 0.13572138 + x * (4.6153926 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))));
  const g = 0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))));
  const b = 0.1066733 + x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))));
  return [clamp01(r), clamp01(g), clamp01(b)];
}

/** Jet, as cv2.COLORMAP_JET draws it: what AVIN's own visualisations use. */
function jet(x: number): [number, number, number] {
  return [clamp01(1.5 - Math.abs(4 * x - 3)), clamp01(1.5 - Math.abs(4 * x - 2)), clamp01(1.5 - Math.abs(4 * x - 1))];
}

/** A 256×3 RGB table for the named map. */
export function buildLut(name: ColormapName): Uint8Array {
  const f = name === 'jet' ? jet : turbo;
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = f(i / 255);
    lut[i * 3] = Math.round(r * 255);
    lut[i * 3 + 1] = Math.round(g * 255);
    lut[i * 3 + 2] = Math.round(b * 255);
  }
  return lut;
}
