import type { Page } from 'playwright-core';
import { buildLut } from '../../../src/wire/colormap.ts';

/** Waits until the tile of `streamId` has painted at least `n` frames; returns its last frame number. */
export async function waitForDrawn(page: Page, streamId: string, n: number, timeout = 30_000): Promise<number> {
  await page.waitForFunction(
    ([id, min]) => Number(document.querySelector(`.tile[data-stream="${id}"]`)?.getAttribute('data-drawn') ?? 0) >= Number(min),
    [streamId, String(n)] as const,
    { timeout },
  );
  return Number(await page.getAttribute(`.tile[data-stream="${streamId}"]`, 'data-frame'));
}

/** Waits until the tile paints a frame number other than `frame`. */
export async function waitForNewFrame(page: Page, streamId: string, frame: number, timeout = 30_000): Promise<number> {
  await page.waitForFunction(
    ([id, f]) => {
      const a = document.querySelector(`.tile[data-stream="${id}"]`)?.getAttribute('data-frame');
      return a !== undefined && a !== null && a !== f;
    },
    [streamId, String(frame)] as const,
    { timeout },
  );
  return Number(await page.getAttribute(`.tile[data-stream="${streamId}"]`, 'data-frame'));
}

/** Sets the overlay controls the way a user would (input events on the real elements). */
export async function setOverlay(
  page: Page,
  s: { enabled?: boolean; peak?: boolean; opacity?: number; normalization?: 'minmax' | 'fixed'; colormap?: 'turbo' | 'jet' },
): Promise<void> {
  const edits: [string, 'checked' | 'value', boolean | string][] = [];
  if (s.enabled !== undefined) edits.push(['#overlay-enabled', 'checked', s.enabled]);
  if (s.peak !== undefined) edits.push(['#overlay-peak', 'checked', s.peak]);
  if (s.opacity !== undefined) edits.push(['#overlay-opacity', 'value', String(Math.round(s.opacity * 100))]);
  if (s.normalization !== undefined) edits.push(['#overlay-normalization', 'value', s.normalization]);
  if (s.colormap !== undefined) edits.push(['#overlay-colormap', 'value', s.colormap]);
  // No named helpers inside the page function: tsx's transform would wrap them in a __name()
  // call that does not exist in the page.
  await page.evaluate((edits) => {
    for (const [sel, prop, value] of edits) {
      const e = document.querySelector(sel);
      if (!e) throw new Error(`no ${sel}`);
      (e as unknown as Record<string, unknown>)[prop] = value;
      e.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }, edits);
}

/** RGB of a 32×18 lattice of points over the tile's canvas (read back with getImageData). */
export async function sampleCanvas(page: Page, streamId: string): Promise<number[][]> {
  return page.evaluate((id) => {
    const c = document.querySelector<HTMLCanvasElement>(`.tile[data-stream="${id}"] canvas`);
    const ctx = c?.getContext('2d');
    if (!c || !ctx) throw new Error(`no canvas for ${id}`);
    const img = ctx.getImageData(0, 0, c.width, c.height).data;
    const out: number[][] = [];
    for (let j = 0; j < 18; j++)
      for (let i = 0; i < 32; i++) {
        const x = Math.floor(((i + 0.5) / 32) * c.width);
        const y = Math.floor(((j + 0.5) / 18) * c.height);
        const o = (y * c.width + x) * 4;
        out.push([img[o] ?? 0, img[o + 1] ?? 0, img[o + 2] ?? 0]);
      }
    return out;
  }, streamId);
}

/** Distance from an RGB colour to the nearest entry of a colour map. */
export function distanceToColormap(rgb: readonly number[], name: 'turbo' | 'jet'): number {
  const lut = buildLut(name);
  let best = Infinity;
  for (let k = 0; k < 256; k++) {
    const d = Math.hypot((rgb[0] ?? 0) - (lut[k * 3] ?? 0), (rgb[1] ?? 0) - (lut[k * 3 + 1] ?? 0), (rgb[2] ?? 0) - (lut[k * 3 + 2] ?? 0));
    if (d < best) best = d;
  }
  return best;
}

/** Mean absolute difference of two samples, per channel. */
export function sampleDifference(a: readonly number[][], b: readonly number[][]): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++)
    for (let c = 0; c < 3; c++) {
      sum += Math.abs((a[i]?.[c] ?? 0) - (b[i]?.[c] ?? 0));
      n++;
    }
  return n > 0 ? sum / n : 0;
}
