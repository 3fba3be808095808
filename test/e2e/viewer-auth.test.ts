/**
 * The viewer with auth on, in a real headless Chromium: the page takes its token from the URL
 * fragment and sends it on the socket and to REST. With a token for `cam-*` it draws cam-a and
 * never lists `other`; without one it stays disconnected and shows no stream.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { signToken } from '../../src/auth/tokens.ts';
import { launchChromium } from './browser.ts';
import { startRtmpPublisher } from './support/media.ts';
import type { Publisher } from './support/media.ts';
import { buildViewerInto, startService } from './support/service.ts';
import type { RunningService } from './support/service.ts';
import { waitForDrawn } from './support/viewer-page.ts';

const SECRET = 'e2e-secret-that-is-at-least-32-bytes-long';

describe('web viewer with auth on', { timeout: 90_000 }, () => {
  let work: string;
  let service: RunningService;
  let browser: Browser;
  const publishers: Publisher[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'avloc-viewer-auth-'));
    await buildViewerInto(join(work, 'dist'));
    service = await startService({ viewerDir: join(work, 'dist'), authSecret: SECRET });
    for (const id of ['cam-a', 'other']) {
      const t = await signToken(SECRET, { publish: [id], ttlSeconds: 600 });
      publishers.push(startRtmpPublisher(`rtmp://127.0.0.1:${service.rtmpPort}/live/${id}?token=${t}`));
    }
    browser = await launchChromium();
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await browser?.close();
    await service?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('with #token= it connects, draws the granted stream, and lists no other', async () => {
    const page = await browser.newPage();
    const t = await signToken(SECRET, { subscribe: ['cam-*'], ttlSeconds: 600 });
    await page.goto(`http://127.0.0.1:${service.httpPort}/#token=${t}`);
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 15_000 });
    await waitForDrawn(page, 'cam-a', 3);
    const tiles = await page.$$eval('.tile', (els) => els.map((e) => e.getAttribute('data-stream')));
    assert.deepEqual(tiles, ['cam-a'], 'only the granted stream has a tile');
    await page.close();
  });

  it('without a token it is refused and shows nothing', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${service.httpPort}/`);
    await new Promise((r) => setTimeout(r, 3000));
    assert.notEqual(await page.getAttribute('#connection', 'data-state'), 'open');
    assert.equal((await page.$$('.tile')).length, 0);
    await page.close();
  });
});
