import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { ffmpegInfo } from '../../src/media/ffmpeg-probe.ts';
import { publish } from '../../src/media/publisher.ts';
import { AvlocClient } from '../../src/wire/client.ts';
import { collect, startTestServer } from '../support/service.ts';

/**
 * `avloc publish` against the real service. The npm-shipped ffmpeg is a static 2018 build that
 * crashes when handed a host name: here it is the service's decoder *and* the publisher, with
 * `localhost` everywhere, and heatmaps must still arrive. Then the command's errors, as a user
 * sees them: one line and a non-zero exit.
 */
const STATIC_FFMPEG = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const run = promisify(execFile);

async function avloc(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', cli, ...args], { env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

test('the static npm ffmpeg decodes and publishes with "localhost" in every URL', { timeout: 90_000 }, async () => {
  assert.equal(ffmpegInfo(STATIC_FFMPEG).isStatic, true, 'the fixture binary is the static build');
  process.env.FFMPEG_PATH = STATIC_FFMPEG;   // what the service's own decoders run
  const server = await startTestServer({ rtmp: { host: 'localhost' } });
  const client = await AvlocClient.connect(`ws://127.0.0.1:${server.httpPort}/ws`, { WebSocket, reconnect: false });
  const controller = new AbortController();
  const lines: string[] = [];
  try {
    const heatmaps = collect(client, 'heatmap', 3, (h) => h.streamId === 'cam1', 60_000);
    client.subscribe('*');
    const publishing = publish({
      source: 'testsrc',
      url: `rtmp://localhost:${server.rtmpPort}/live/cam1`,
      ffmpegPath: STATIC_FFMPEG,
      out: (l) => lines.push(l),
      signal: controller.signal,
    });
    await heatmaps;
    controller.abort();
    await publishing;
    assert.match(lines[0] ?? '', /^publishing testsrc as "cam1" to rtmp:\/\/localhost:/);
    assert.ok(lines.some((l) => /cam1: \d+ frames in \d+ s/.test(l)), `progress printed: ${lines.join(' | ')}`);
  } finally {
    controller.abort();
    client.close();
    await server.close();
    delete process.env.FFMPEG_PATH;
  }
});

test('publish errors are one line and a non-zero exit: missing file, bad URL, no server, refused stream', { timeout: 90_000 }, async () => {
  const missing = await avloc(['publish', 'no-such-clip.mp4']);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim(), 'avloc: CONFIG_INVALID: no such file: no-such-clip.mp4 (SOURCE is a media file, "testsrc" or "camera")');
  const badUrl = await avloc(['publish', 'testsrc', 'http://localhost:8080/live/x']);
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /expected rtmp:\/\/HOST\[:PORT\]\/live\/ID/);
  const noServer = await avloc(['publish', 'testsrc', 'rtmp://localhost:1/live/x']);
  assert.equal(noServer.code, 1);
  assert.match(noServer.stderr, /cannot reach the RTMP server at 127\.0\.0\.1:1 \(ECONNREFUSED\)|cannot reach the RTMP server at localhost:1 \(ECONNREFUSED\)/);
  assert.equal(noServer.stderr.trim().split('\n').length, 1);

  const server = await startTestServer({ auth: { secret: 'publish-test-secret-of-32-bytes-or-more' } });
  try {
    const refused = await avloc(['publish', 'testsrc', `rtmp://localhost:${server.rtmpPort}/live/cam1`, '--seconds', '5']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /avloc: CLOSED: .*"cam1"/);
    assert.deepEqual(server.hub.listStreams(), [], 'nothing was started for it');
  } finally {
    await server.close();
  }
});
