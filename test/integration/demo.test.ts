import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { assetCacheState, checkPython, findPython } from '../../src/demo/preflight.ts';
import { resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';
import type { AvlocServer } from '../../src/server.ts';
import { collect, connectClient, getJson, startTestServer } from '../support/service.ts';

/**
 * `npm run demo`'s generator (models/avloc_demo) publishing to the real service: the stream shows
 * up with video and audio and heatmaps flow. It builds scenes from the corpus' asset cache
 * (models/.cache, gitignored, fetched from Debian packages), so it is skipped where that is absent.
 */
const MODELS = fileURLToPath(new URL('../../models', import.meta.url));
const python = findPython();
const cache = assetCacheState(MODELS);
const skip =
  checkPython(python) ??
  (cache.unpacked && cache.rendered ? undefined : 'corpus asset cache models/.cache absent (`npm run demo` builds it once)');

const children = new Set<ChildProcess>();
let server: AvlocServer | undefined;
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await server?.close();
});

test('the demo generator publishes a stream with video and audio that the service analyzes', { skip, timeout: 20_000 }, async () => {
  server = await startTestServer();
  const client = await connectClient(server);
  client.subscribe('*', { format: 'binary' });
  const started = collect(client, 'stream.started', 1, (e) => e.id === 'demo-test', 10_000);
  const out: string[] = [];
  const gen = spawn(python, ['-m', 'avloc_demo.stream', '--ffmpeg', resolveFfmpeg(), '--url', `rtmp://127.0.0.1:${server.rtmpPort}/live`,
    '--stream-id', 'demo-test', '--seconds', '12', '--size', '320x180', '--seed', '1'], { cwd: MODELS, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(gen);
  gen.stdout.on('data', (d: Buffer) => out.push(d.toString()));
  gen.stderr.on('data', (d: Buffer) => out.push(d.toString()));
  try {
    await started;
    const maps = await collect(client, 'heatmap', 10, (h) => h.streamId === 'demo-test', 12_000);
    assert.ok(maps.every((h, i) => i === 0 || h.ptsMs > maps[i - 1]!.ptsMs), 'pts increase');
    const list = (await getJson(server, '/api/streams')) as { streams: { id: string; hasAudio: boolean; hasVideo: boolean }[] };
    const s = list.streams.find((x) => x.id === 'demo-test');
    assert.ok(s && s.hasAudio && s.hasVideo, `stream listed with audio and video: ${JSON.stringify(list)}`);
    assert.match(out.join(''), /now sounding: \S+ +at \(\d+, \d+\)/);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- generator output ---\n${out.join('')}`);
  } finally {
    gen.kill('SIGTERM');
    client.close();
  }
});
