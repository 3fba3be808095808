import { buildLut } from '../../src/wire/colormap.ts';
import type { ColormapName } from '../../src/wire/colormap.ts';
import { colorize, normalizeGrid, upsampleBilinear } from './heatmap-math.ts';
import type { ViewerFrame } from './frame.ts';
import type { OverlaySettings } from './overlay-settings.ts';

/** The overlay is computed at 1/OVERLAY_DIVISOR of the canvas size and smoothed up by the canvas. */
const OVERLAY_DIVISOR = 4;

const luts = new Map<ColormapName, Uint8Array>();
function lutFor(name: ColormapName): Uint8Array {
  let lut = luts.get(name);
  if (!lut) luts.set(name, (lut = buildLut(name)));
  return lut;
}

/**
 * Draws one frame's picture, heatmap and peak onto a tile's canvas. The heatmap is bilinearly
 * upsampled in JS to a quarter of the canvas (value interpolation, then the colour map), and the
 * canvas's own smoothing does the last ×4: exact where it matters, cheap for many tiles.
 * Buffers are reused across frames; they only change when the canvas size does.
 */
export class OverlayPainter {
  private readonly small: HTMLCanvasElement;
  private readonly smallCtx: CanvasRenderingContext2D;
  private image: ImageData | undefined;
  private norm = new Float32Array(0);
  private up = new Float32Array(0);

  constructor() {
    this.small = document.createElement('canvas');
    const ctx = this.small.getContext('2d');
    if (!ctx) throw new Error('2d canvas context unavailable');
    this.smallCtx = ctx;
  }

  paint(ctx: CanvasRenderingContext2D, frame: ViewerFrame, picture: ImageBitmap | undefined, s: OverlaySettings): void {
    const { width: W, height: H } = ctx.canvas;
    if (picture) ctx.drawImage(picture, 0, 0, W, H);
    else {
      ctx.fillStyle = '#111';
      ctx.fillRect(0, 0, W, H);
    }
    if (!s.enabled) return;
    const { h, w, values } = frame.grid;
    if (h <= 0 || w <= 0 || values.length < h * w) return;

    const oh = Math.max(h, Math.ceil(H / OVERLAY_DIVISOR));
    const ow = Math.max(w, Math.ceil(W / OVERLAY_DIVISOR));
    if (!this.image || this.image.width !== ow || this.image.height !== oh) {
      this.small.width = ow;
      this.small.height = oh;
      this.image = this.smallCtx.createImageData(ow, oh);
      this.up = new Float32Array(ow * oh);
    }
    if (this.norm.length !== h * w) this.norm = new Float32Array(h * w);
    normalizeGrid(values, s.normalization, this.norm, frame.sounding);
    upsampleBilinear(this.norm, h, w, oh, ow, this.up);
    colorize(this.up, lutFor(s.colormap), this.image.data);
    this.smallCtx.putImageData(this.image, 0, 0);

    ctx.save();
    ctx.globalAlpha = s.opacity;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'low'; // 'low' is bilinear in Chromium; higher settings add blur we don't want.
    ctx.drawImage(this.small, 0, 0, W, H);
    ctx.restore();

    if (s.showPeak) drawPeak(ctx, frame.peak.u * W, frame.peak.v * H, Math.max(6, Math.min(W, H) / 30));
  }
}

/** A ringed crosshair: visible over both bright and dark colours of the map. */
function drawPeak(ctx: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  ctx.save();
  for (const [style, width] of [
    ['rgba(0,0,0,0.8)', 4],
    ['#fff', 2],
  ] as const) {
    ctx.strokeStyle = style;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, Math.PI * 2);
    ctx.moveTo(x - r * 1.8, y);
    ctx.lineTo(x - r * 0.5, y);
    ctx.moveTo(x + r * 0.5, y);
    ctx.lineTo(x + r * 1.8, y);
    ctx.moveTo(x, y - r * 1.8);
    ctx.lineTo(x, y - r * 0.5);
    ctx.moveTo(x, y + r * 0.5);
    ctx.lineTo(x, y + r * 1.8);
    ctx.stroke();
  }
  ctx.restore();
}
