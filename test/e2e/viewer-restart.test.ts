/**
 * The viewer rides out a server restart: the server goes away (publisher and sockets with it),
 * comes back on the same port, a publisher returns under the same stream id, and the open page
 * shows "connected" again and paints new frames without a reload.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { startRtmpPublisher } from './support/media.ts';
import type { Publisher } from './support/media.ts';
import { buildViewerInto, startService } from './support/service.ts';
import type { RunningService } from './support/service.ts';
import { waitForDrawn } from './support/viewer-page.ts';

describe('web viewer across a server restart', () => {
  let work: string;
  let service: RunningService | undefined;
  let browser: Browser;
  let page: Page;
  const publishers: Publisher[] = [];
  const id = 'e2e-restart';

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'avloc-viewer-restart-'));
    await buildViewerInto(join(work, 'dist'));
    service = await startService({ viewerDir: join(work, 'dist') });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${service.httpPort}/`);
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await browser?.close();
    await service?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('reconnects to the restarted server and resumes drawing the stream', async () => {
    assert.ok(service);
    publishers.push(startRtmpPublisher(`rtmp://127.0.0.1:${service.rtmpPort}/live/${id}`));
    await waitForDrawn(page, id, 3);

    const httpPort = service.httpPort;
    await service.close();
    service = undefined;
    await publishers[0]?.stop();
    await page.waitForSelector('#connection[data-state="reconnecting"]', { timeout: 10_000 });
    await page.waitForSelector(`.stream.ended[data-stream="${id}"]`, { timeout: 15_000 });
    const drawnWhileDown = Number(await page.getAttribute(`.tile[data-stream="${id}"]`, 'data-drawn'));

    service = await startService({ viewerDir: join(work, 'dist'), httpPort });
    publishers.push(startRtmpPublisher(`rtmp://127.0.0.1:${service.rtmpPort}/live/${id}`));
    // Backoff tops out at 10 s; the page must get there on its own, without a reload.
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 });
    await page.waitForSelector(`.stream.live[data-stream="${id}"]`, { timeout: 30_000 });
    await waitForDrawn(page, id, drawnWhileDown + 3);
    assert.equal(await page.isVisible(`.tile[data-stream="${id}"] .badge-off`), false, 'the tile should no longer say ended');
  });
});
