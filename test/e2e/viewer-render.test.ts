/**
 * The viewer's drawing code in real Chromium, without a server: a harness page feeds one tile with
 * synthetic frames and the test reads the canvas back. Guards the colour map orientation, the
 * upsampling geometry (peak cell → picture position), opacity, normalisation and latest-only drawing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';

/** What viewer-render-harness.ts puts on the page's globalThis. */
interface HarnessGlobal {
  harness: {
    push(spec: unknown): Promise<void>;
    burst(specs: unknown[]): Promise<void>;
    set(patch: Record<string, unknown>): void;
    pixel(u: number, v: number): number[];
  };
}

const harnessEntry = fileURLToPath(new URL('./fixtures/viewer-render-harness.ts', import.meta.url));

/** A 14×14 grid that is -1 everywhere except +1 at (px, py). */
function spike(px: number, py: number, h = 14, w = 14): number[] {
  const v = new Array<number>(h * w).fill(-1);
  v[py * w + px] = 1;
  return v;
}

describe('viewer drawing (harness page, real Chromium)', () => {
  let browser: Browser;
  let page: Page;

  before(async () => {
    const bundle = await build({ entryPoints: [harnessEntry], bundle: true, write: false, format: 'iife', platform: 'browser', logLevel: 'error' });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setContent('<!doctype html><html><body style="margin:0;background:#000"></body></html>');
    await page.addScriptTag({ content: bundle.outputFiles[0]?.text ?? '' });
  });

  after(async () => {
    await browser?.close();
  });

  const waitFrame = (n: number) => page.waitForFunction((f) => document.querySelector('.tile')?.getAttribute('data-frame') === String(f), n);
  const pixel = (u: number, v: number) => page.evaluate(([x, y]) => (globalThis as unknown as HarnessGlobal).harness.pixel(x, y), [u, v] as const);

  it('draws the hot colour at the peak cell and the cold colour far from it', async () => {
    await page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.set({ opacity: 1, showPeak: false, normalization: 'minmax', colormap: 'jet' }));
    await page.evaluate((values) => (globalThis as unknown as HarnessGlobal).harness.push({ frame: 1, h: 14, w: 14, values, peak: { x: 10, y: 3 }, picture: '#808080' }), spike(10, 3));
    await waitFrame(1);
    const [r, g, b] = await pixel((10 + 0.5) / 14, (3 + 0.5) / 14);
    assert.ok((r ?? 0) > 100 && (b ?? 255) < 60, `jet at the peak should be red, got ${[r, g, b]}`);
    const [r2, , b2] = await pixel(0.1, 0.9);
    assert.ok((b2 ?? 0) > 100 && (r2 ?? 255) < 60, `jet far from the peak should be blue, got ${[r2, b2]}`);
  });

  it('sizes the canvas to the preview and shows only the picture at opacity 0', async () => {
    assert.deepEqual(await page.evaluate(() => { const c = document.querySelector('canvas')!; return [c.width, c.height]; }), [320, 180]);
    await page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.set({ opacity: 0 }));
    await page.evaluate((values) => (globalThis as unknown as HarnessGlobal).harness.push({ frame: 2, h: 14, w: 14, values, peak: { x: 10, y: 3 }, picture: '#808080' }), spike(10, 3));
    await waitFrame(2);
    for (const c of (await pixel((10 + 0.5) / 14, (3 + 0.5) / 14)).slice(0, 3)) assert.ok(Math.abs(c - 128) < 8, `expected the grey picture, got ${c}`);
  });

  it('draws the peak marker at the peak cell', async () => {
    await page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.set({ opacity: 0, showPeak: true }));
    await page.evaluate((values) => (globalThis as unknown as HarnessGlobal).harness.push({ frame: 20, h: 14, w: 14, values, peak: { x: 3, y: 9 }, picture: '#808080' }), spike(3, 9));
    await waitFrame(20);
    // The ring has radius max(6, min(W, H) / 30) = 6 px on the 320×180 canvas, drawn white.
    const [x, y] = [((3 + 0.5) / 14) * 320, ((9 + 0.5) / 14) * 180];
    const ring = await pixel((x + 6) / 320, y / 180);
    assert.ok(ring.slice(0, 3).every((c) => c > 200), `ring pixel should be white, got ${ring}`);
    const centre = await pixel(x / 320, y / 180);
    assert.ok(centre.slice(0, 3).every((c) => Math.abs(c - 128) < 10), `the centre stays clear, got ${centre}`);
  });

  it('fixed normalisation maps cosine 0 to the middle of the map, min–max maps a flat frame to its bottom', async () => {
    const flat = new Array<number>(196).fill(0);
    await page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.set({ opacity: 1, showPeak: false, normalization: 'fixed', colormap: 'jet' }));
    await page.evaluate((values) => (globalThis as unknown as HarnessGlobal).harness.push({ frame: 3, h: 14, w: 14, values, peak: { x: 0, y: 0 }, picture: '#808080' }), flat);
    await waitFrame(3);
    const [r, g, b] = await pixel(0.5, 0.5);
    assert.ok((g ?? 0) > 200 && (r ?? 0) > 100 && (b ?? 0) > 100, `jet(0.5) is light green, got ${[r, g, b]}`);
    await page.evaluate(() => (globalThis as unknown as HarnessGlobal).harness.set({ normalization: 'minmax' }));
    await page.waitForFunction(() => (globalThis as unknown as HarnessGlobal).harness.pixel(0.5, 0.5)[1]! < 50);
    const [r2, g2, b2] = await pixel(0.5, 0.5);
    assert.ok((b2 ?? 0) > 100 && (g2 ?? 255) < 50 && (r2 ?? 255) < 50, `min–max of a flat frame is jet(0), dark blue, got ${[r2, g2, b2]}`);
  });

  it('paints only the newest of a burst of frames', async () => {
    const drawnBefore = Number(await page.getAttribute('.tile', 'data-drawn'));
    await page.evaluate((values) => {
      const specs = Array.from({ length: 40 }, (_, i) => ({ frame: 100 + i, h: 14, w: 14, values, peak: { x: 0, y: 0 }, picture: '#808080' }));
      return (globalThis as unknown as HarnessGlobal).harness.burst(specs);
    }, spike(1, 1));
    await waitFrame(139);
    const drawn = Number(await page.getAttribute('.tile', 'data-drawn')) - drawnBefore;
    // One decode may already be in flight when the rest arrive: the first and the last get painted.
    assert.ok(drawn >= 1 && drawn <= 2, `40 frames in one burst should paint at most twice, painted ${drawn}`);
  });
});
