/**
 * The pure arithmetic of the overlay: normalise a cosine grid for display, upsample it bilinearly,
 * colour it. No DOM here, so it runs (and is tested) in node as well as in the page.
 */
export type Normalization = 'sounding' | 'minmax' | 'fixed';

/**
 * Map grid values to [0, 1].
 * - `minmax`: per-frame (v − min) / (max − min), as AVIN's evaluation code does; always shows *where*
 *   the peak is, even when the whole map is weak. A flat map becomes all zeros rather than NaN.
 * - `fixed`: the contract's full cosine range [-1, 1] → [0, 1]; shows *how strong* the match is,
 *   comparable across frames and streams.
 * - `sounding` (the default): min–max scaled by the frame's calibrated P(something in view is
 *   sounding), so a frame where nothing sounds stays cold instead of showing a confident spot.
 *   Without a score (a bundle with no calibration: `sounding` null) it is plain min–max.
 */
export function normalizeGrid(
  values: ArrayLike<number>,
  mode: Normalization,
  out = new Float32Array(values.length),
  sounding: number | null = null,
): Float32Array {
  const n = values.length;
  if (mode === 'fixed') {
    for (let i = 0; i < n; i++) {
      const t = ((values[i] ?? 0) + 1) / 2;
      out[i] = t < 0 ? 0 : t > 1 ? 1 : t;
    }
    return out;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i] ?? 0;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  const gain = mode === 'sounding' && sounding !== null && Number.isFinite(sounding) ? Math.min(1, Math.max(0, sounding)) : 1;
  for (let i = 0; i < n; i++) out[i] = span > 0 ? (gain * ((values[i] ?? 0) - lo)) / span : 0;
  return out;
}

/**
 * Bilinear resize of a row-major h×w grid to outH×outW with half-pixel centres (align_corners=False,
 * like cv2.resize and torch's interpolate): cell (x, y) sits at ((x + 0.5)/w, (y + 0.5)/h) in image
 * coordinates, the same centres the server reports for the peak's (u, v). Edges clamp.
 * Values are interpolated *before* colouring, so a blend between blue and red passes through the
 * colours in between instead of a muddy RGB mix.
 */
export function upsampleBilinear(
  src: ArrayLike<number>,
  h: number,
  w: number,
  outH: number,
  outW: number,
  out = new Float32Array(outH * outW),
): Float32Array {
  const sy = h / outH;
  const sx = w / outW;
  // Column taps are the same for every row: compute them once.
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    const x0 = Math.floor(fx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, w - 1);
    fxs[x] = fx - x0;
  }
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const ty = fy - y0;
    const r0 = y0 * w;
    const r1 = y1 * w;
    for (let x = 0; x < outW; x++) {
      const x0 = x0s[x] ?? 0;
      const x1 = x1s[x] ?? 0;
      const tx = fxs[x] ?? 0;
      const top = (src[r0 + x0] ?? 0) * (1 - tx) + (src[r0 + x1] ?? 0) * tx;
      const bottom = (src[r1 + x0] ?? 0) * (1 - tx) + (src[r1 + x1] ?? 0) * tx;
      out[y * outW + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

/** Colour [0, 1] values through a 256×3 LUT into RGBA pixels (opaque; opacity is applied when drawing). */
export function colorize(norm: ArrayLike<number>, lut: Uint8Array, out: Uint8ClampedArray): Uint8ClampedArray {
  const n = Math.min(norm.length, out.length >> 2);
  for (let i = 0; i < n; i++) {
    const t = norm[i] ?? 0;
    const k = (t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255)) * 3;
    const o = i << 2;
    out[o] = lut[k] ?? 0;
    out[o + 1] = lut[k + 1] ?? 0;
    out[o + 2] = lut[k + 2] ?? 0;
    out[o + 3] = 255;
  }
  return out;
}
