/**
 * The web viewer against the real service: real server (fixture model), real ffmpeg publishers,
 * real typed client in a real headless Chromium. AVLOC_VIEWER_SCREENSHOT=1 also refreshes
 * docs/viewer.png from the RTMP test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { shrinkPng, startRtmpPublisher } from './support/media.ts';
import type { Publisher } from './support/media.ts';
import { buildViewerInto, startService } from './support/service.ts';
import type { RunningService } from './support/service.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';
import type { TcpProxy } from './support/tcp-proxy.ts';
import { distanceToColormap, sampleCanvas, sampleDifference, setOverlay, waitForDrawn, waitForNewFrame } from './support/viewer-page.ts';

const resultsDir = fileURLToPath(new URL('../../test-results/', import.meta.url));
const docsShot = fileURLToPath(new URL('../../docs/viewer.png', import.meta.url));

describe('web viewer with the live service', () => {
  let work: string;
  let service: RunningService;
  let browser: Browser;
  let page: Page;
  let proxy: TcpProxy;
  const publishers: Publisher[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'avloc-viewer-e2e-'));
    await mkdir(resultsDir, { recursive: true });
    await buildViewerInto(join(work, 'dist'));
    service = await startService({ viewerDir: join(work, 'dist') });
    // The page goes through a proxy so the reconnect test can cut its sockets.
    proxy = await startTcpProxy(service.httpPort);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1240, height: 560 } });
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`http://127.0.0.1:${proxy.port}/`);
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await browser?.close();
    await proxy?.close();
    await service?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('connects and says so', async () => {
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 15_000 });
    assert.match((await page.textContent('#connection')) ?? '', /connected/);
  });

  it('lists an RTMP stream and draws its frames with a changing heatmap overlay', async (t) => {
    const id = 'e2e-rtmp';
    publishers.push(startRtmpPublisher(`rtmp://127.0.0.1:${service.rtmpPort}/live/${id}`));
    await page.waitForSelector(`.stream[data-stream="${id}"]`, { timeout: 30_000 });
    await waitForDrawn(page, id, 5);

    // The picture alone (overlay off) is a test pattern: white, black and greys a colour map never has.
    await setOverlay(page, { enabled: false, peak: false });
    const f0 = Number(await page.getAttribute(`.tile[data-stream="${id}"]`, 'data-frame'));
    await waitForNewFrame(page, id, f0);
    const picture = await sampleCanvas(page, id);
    const offMap = picture.filter((p) => distanceToColormap(p, 'jet') > 60).length;
    assert.ok(offMap > picture.length / 10, `picture should have colours outside jet (${offMap} of ${picture.length})`);

    // Fully opaque overlay: every pixel is a jet colour, and min–max spans the whole map.
    await setOverlay(page, { enabled: true, opacity: 1, colormap: 'jet', normalization: 'minmax' });
    const f1 = await waitForNewFrame(page, id, Number(await page.getAttribute(`.tile[data-stream="${id}"]`, 'data-frame')));
    const a = await sampleCanvas(page, id);
    const worst = Math.max(...a.map((p) => distanceToColormap(p, 'jet')));
    assert.ok(worst < 40, `opaque overlay pixels should all be jet colours (worst distance ${worst.toFixed(1)})`);

    // The overlay follows the stream: a later frame's heatmap differs.
    let b = a;
    let f2 = f1;
    for (let i = 0; i < 10 && sampleDifference(a, b) < 1; i++) {
      f2 = await waitForNewFrame(page, id, f2);
      b = await sampleCanvas(page, id);
    }
    assert.ok(sampleDifference(a, b) >= 1, `overlay should change between frames ${f1} and ${f2}`);

    // Stats are live numbers.
    // Regression: capture times anchored on the (late) first frame made this negative.
    const latency = (await page.textContent(`.tile[data-stream="${id}"] [data-stat="latency"]`)) ?? '';
    assert.match(latency, /^\d+ ms$/);
    t.diagnostic(`viewer latency, RTMP stream: ${latency}`);
    const fps = Number(((await page.textContent(`.tile[data-stream="${id}"] [data-stat="fps"]`)) ?? '').split(' ')[0]);
    assert.ok(fps > 0, `analyzed fps should be positive, got ${fps}`);

    await setOverlay(page, { opacity: 0.5, colormap: 'turbo', peak: true });
    await waitForNewFrame(page, id, f2);
    await page.screenshot({ path: join(resultsDir, 'viewer-rtmp.png') });
  });

  it('gives a second stream its own tile beside the first', async () => {
    const id2 = 'e2e-rtmp-2';
    publishers.push(startRtmpPublisher(`rtmp://127.0.0.1:${service.rtmpPort}/live/${id2}`, 'smptebars=size=320x180:rate=15'));
    await waitForDrawn(page, id2, 3);
    await waitForNewFrame(page, 'e2e-rtmp', Number(await page.getAttribute('.tile[data-stream="e2e-rtmp"]', 'data-frame')));
    assert.equal(await page.locator('.tile').count(), 2);
    // Each tile takes its own stream's picture shape (4:3 and 16:9 here), side by side.
    const boxes = await page.$$eval('.tile canvas', (cs) => (cs as HTMLCanvasElement[]).map((c) => [c.width / c.height, c.getBoundingClientRect().top]));
    assert.ok(Math.abs((boxes[0]?.[0] ?? 0) - 4 / 3) < 0.05 && Math.abs((boxes[1]?.[0] ?? 0) - 16 / 9) < 0.05, `aspect ratios ${boxes.map((b) => b[0])}`);
    assert.equal(boxes[0]?.[1], boxes[1]?.[1], 'the two tiles should sit in one row');
    if (process.env.AVLOC_VIEWER_SCREENSHOT) {
      await waitForDrawn(page, id2, 25); // a couple of seconds in, so the stats have settled
      // Through a 256-colour palette: the docs want a small PNG, not a lossless test pattern.
      const raw = join(work, 'viewer-raw.png');
      await page.screenshot({ path: raw });
      await shrinkPng(raw, docsShot);
    }
  });

  it('reconnects by itself when its sockets are cut, and frames resume', async () => {
    await publishers[1]?.stop(); // one stream is enough from here on; spare the CPU
    const id = 'e2e-rtmp';
    const before = await waitForDrawn(page, id, 1);
    assert.ok(proxy.dropAll() > 0, 'the page should have had a connection to cut');
    await page.waitForSelector('#connection[data-state="reconnecting"]', { timeout: 10_000 });
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 20_000 });
    const drawnAtReconnect = Number(await page.getAttribute(`.tile[data-stream="${id}"]`, 'data-drawn'));
    await page.waitForFunction(
      ([sel, n]) => Number(document.querySelector(sel)?.getAttribute('data-drawn') ?? 0) > Number(n) + 2,
      [`.tile[data-stream="${id}"]`, String(drawnAtReconnect)] as const,
      { timeout: 20_000 },
    );
    const after = Number(await page.getAttribute(`.tile[data-stream="${id}"]`, 'data-frame'));
    assert.ok(after > before, `frames should resume after the reconnect (${before} → ${after})`);
  });

  it('marks a stream ended when its publisher stops', async () => {
    const id = 'e2e-rtmp';
    await publishers[0]?.stop();
    await page.waitForSelector(`.stream.ended[data-stream="${id}"]`, { timeout: 20_000 });
    assert.equal(await page.isVisible(`.tile[data-stream="${id}"] .badge-off`), true);
  });
});
