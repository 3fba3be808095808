/**
 * A real Chromium publishes its (fake) camera and microphone with web-viewer's whipPublish() from a
 * page on another origin, and ffmpeg decodes video frames and audio from the Source the WHIP ingest
 * announces. Guards the browser path: CORS preflight, Chrome's offer (BUNDLE, RTX, many codecs),
 * ICE with Chrome, and the keyframe request that lets a late ffmpeg start decoding.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { firstValueFrom, filter, ReplaySubject, timeout } from 'rxjs';
import { createLogger } from '../../src/log.ts';
import type { Source, SourceEvent } from '../../src/media/source.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { WhipIngest } from '../../src/ingest/whip-ingest.ts';
import { launchChromium } from './browser.ts';

const viewerSrc = fileURLToPath(new URL('../../web-viewer/src/', import.meta.url));

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

async function whipServer(ingest: WhipIngest): Promise<Server> {
  const app = createHttpApp({
    log: createLogger('whip-e2e', 'silent'),
    routes: (api) => {
      api.register(ingest.routes);
    },
  });
  await app.ready();
  return app.server;
}

/** The page: whip-client.ts bundled by esbuild, exposed as window.avlocWhipPublish. */
async function pageHtml(): Promise<string> {
  const out = await build({
    stdin: {
      contents: "import { whipPublish } from './whip-client.ts';\n(globalThis as any).avlocWhipPublish = whipPublish;\n",
      resolveDir: viewerSrc,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
  });
  const js = out.outputFiles[0]!.text.replace(/<\/script/gi, '<\\/script');
  return `<!doctype html><meta charset="utf-8"><title>whip</title><script>${js}</script>`;
}

/** Decodes a few frames and half a second of audio from a Source, like the decoder would. */
function decode(source: Source, dir: string): Promise<{ code: number | null; stderr: string; video: string; audio: string }> {
  const video = join(dir, `${source.id}.rgb`);
  const audio = join(dir, `${source.id}.f32`);
  const args = [
    '-hide_banner', '-loglevel', 'warning', '-y', ...source.ffmpegInput,
    '-map', '0:v:0', '-frames:v', '5', '-s', '64x48', '-pix_fmt', 'rgb24', '-f', 'rawvideo', video,
    '-map', '0:a:0', '-t', '1', '-ac', '1', '-ar', '16000', '-f', 'f32le', audio,
  ];
  return new Promise((resolve) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000); // a hang fails the test, never passes it
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr, video, audio });
    });
  });
}

/** Bounds every wait for an event, so a broken connection fails the test instead of hanging it. */
const GUARD_MS = 45_000;

describe('WHIP from a real browser', () => {
  let ingest: WhipIngest;
  let api: Server;
  let pages: Server;
  let apiBase: string;
  let pageBase: string;
  let browser: Browser;
  let page: Page;
  let work: string;
  const events = new ReplaySubject<SourceEvent>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'avloc-whip-e2e-'));
    ingest = new WhipIngest({ log: createLogger('whip-e2e', process.env.AVLOC_TEST_DEBUG ? 'debug' : 'warn') });
    ingest.events$.subscribe(events);
    await ingest.start();
    api = await whipServer(ingest);
    apiBase = await listen(api);
    const html = await pageHtml();
    pages = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(html));
    pageBase = await listen(pages); // another port = another origin: the POST needs CORS
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(pageBase);
  });

  after(async () => {
    await browser?.close();
    await ingest?.close();
    await Promise.all([api, pages].map((s) => new Promise((r) => (s ? s.close(r) : r(undefined)))));
    await rm(work, { recursive: true, force: true });
  });

  async function publishAndDecode(id: string, codec: string | undefined, expectSdp: RegExp): Promise<void> {
    const started = firstValueFrom(events.pipe(filter((e) => e.type === 'started' && e.source.id === id), timeout(GUARD_MS)));
    const resourceUrl = await page.evaluate(
      async ({ url, codec }) => {
        const media = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 15 }, audio: true });
        const w = window as unknown as Record<string, any>;
        w[`pub_${url}`] = await w['avlocWhipPublish'](url, media, codec ? { preferVideoCodec: codec } : {});
        return w[`pub_${url}`].resourceUrl as string;
      },
      { url: `${apiBase}/whip/${id}`, codec },
    );
    assert.match(resourceUrl, new RegExp(`^${apiBase}/whip/${id}/[0-9a-f-]{36}$`));
    const event = await started;
    assert.equal(event.type, 'started');
    const source = event.type === 'started' ? event.source : undefined;
    assert.ok(source);
    const sdpPath = source.ffmpegInput[source.ffmpegInput.length - 1]!;
    assert.match(await readFile(sdpPath, 'utf8'), expectSdp);

    const out = await decode(source, work);
    assert.equal(out.code, 0, out.stderr);
    assert.equal((await stat(out.video)).size, 5 * 64 * 48 * 3);
    const samples = new Float32Array((await readFile(out.audio)).buffer.slice(0));
    assert.ok(samples.length >= 1600, `audio samples: ${samples.length}`); // ≥ 0.1 s; the output clock starts with the first (video) packet
    assert.ok(samples.some((s) => Math.abs(s) > 0.01), "Chromium's fake microphone beeps; it decoded as silence");

    const ended = firstValueFrom(events.pipe(filter((e) => e.type === 'ended' && e.id === id), timeout(GUARD_MS)));
    await page.evaluate((url) => (window as unknown as Record<string, any>)[`pub_${url}`].stop(), `${apiBase}/whip/${id}`);
    const end = await ended;
    assert.equal(end.type === 'ended' && end.reason, 'publisher sent DELETE');
    assert.equal(existsSync(sdpPath), false);
  }

  test('Chromium publishes VP8 + Opus; ffmpeg decodes frames and audio; stop() ends the stream', async () => {
    await publishAndDecode('browser-vp8', undefined, /^(?=[\s\S]*a=rtpmap:\d+ VP8\/90000)(?=[\s\S]*a=rtpmap:\d+ opus\/48000\/2)/i);
  });

  test('Chromium publishes H.264 (packetization-mode=1) when it prefers it', async (t) => {
    const hasH264 = await page.evaluate(() =>
      (RTCRtpSender.getCapabilities('video')?.codecs ?? []).some((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine ?? '')),
    );
    if (!hasH264) return t.skip('this Chromium build cannot encode H.264');
    await publishAndDecode('browser-h264', 'video/H264', /a=rtpmap:\d+ H264\/90000\na=fmtp:\d+ .*packetization-mode=1/);
  });
});
