/**
 * "Publish my camera": Chromium's fake camera and microphone (files made here with ffmpeg) go from
 * the viewer's button over WHIP into the real service, and that stream's heatmaps come back to the
 * same page. Stop must DELETE the WHIP resource, which ends the stream for everyone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { makeFakeCaptureFiles } from './support/media.ts';
import { buildViewerInto, startService } from './support/service.ts';
import type { RunningService } from './support/service.ts';
import { sampleCanvas, waitForDrawn } from './support/viewer-page.ts';

const resultsDir = fileURLToPath(new URL('../../test-results/', import.meta.url));

describe('web viewer: publish my camera over WHIP', () => {
  let work: string;
  let service: RunningService;
  let browser: Browser;
  let page: Page;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'avloc-viewer-whip-'));
    await mkdir(resultsDir, { recursive: true });
    const [files] = await Promise.all([makeFakeCaptureFiles(work), buildViewerInto(join(work, 'dist'))]);
    service = await startService({ viewerDir: join(work, 'dist') });
    browser = await launchChromium([`--use-file-for-fake-video-capture=${files.y4m}`, `--use-file-for-fake-audio-capture=${files.wav}`]);
    const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
    page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`http://127.0.0.1:${service.httpPort}/`);
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
    await service?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('publishes the fake camera and draws the heatmaps that come back', async (t) => {
    const id = 'e2e-cam';
    await page.fill('#publish-id', id);
    await page.click('#publish-start');
    await page.waitForSelector('#publish-status[data-state="live"]', { timeout: 30_000 });
    await page.waitForSelector(`.stream[data-stream="${id}"]`, { timeout: 30_000 });
    await waitForDrawn(page, id, 5, 60_000);
    // The preview is the camera's own picture (320×240 fake capture, scaled to the preview height).
    const [w, h] = await page.evaluate((id) => {
      const c = document.querySelector<HTMLCanvasElement>(`.tile[data-stream="${id}"] canvas`)!;
      return [c.width, c.height];
    }, id);
    assert.ok(Math.abs(w / h - 4 / 3) < 0.05, `preview should keep the camera's 4:3 shape, got ${w}×${h}`);
    const px = await sampleCanvas(page, id);
    assert.ok(new Set(px.map((p) => p.join(','))).size > 20, 'the tile should show a picture, not a flat fill');
    // The microphone was on, so the server must not flag this stream as silent.
    assert.equal(await page.isHidden(`.tile[data-stream="${id}"] .badge-warn`), true);
    // The end-to-end latency the viewer shows for a WHIP stream (reported, not timed: the figure
    // depends on the machine; the assertion is only that it is a real, non-negative number).
    await waitForDrawn(page, id, 10, 30_000);
    const latency = (await page.textContent(`.tile[data-stream="${id}"] [data-stat="latency"]`)) ?? '';
    assert.match(latency, /^\d+ ms$/);
    t.diagnostic(`viewer latency, WHIP stream: ${latency}`);
    await page.screenshot({ path: join(resultsDir, 'viewer-whip.png') });
  });

  it('Stop deletes the WHIP resource and the stream ends', async () => {
    const id = 'e2e-cam';
    await page.click('#publish-stop');
    await page.waitForSelector('#publish-status[data-state="idle"]', { timeout: 15_000 });
    await page.waitForSelector(`.stream.ended[data-stream="${id}"]`, { timeout: 20_000 });
    const res = await fetch(`http://127.0.0.1:${service.httpPort}/api/streams`);
    const body = (await res.json()) as { streams: { id: string }[] };
    assert.equal(body.streams.some((s) => s.id === id), false, 'the server should have forgotten the stream');
  });
});
