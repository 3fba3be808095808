import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { AvlocServer } from '../../src/server.ts';
import type { AvlocClient } from '../../src/wire/client.ts';
import { alive, publishRtmp, type Publisher } from '../support/ffmpeg.ts';
import { collect, connectClient, getJson, getText, rtmpUrl, startTestServer } from '../support/service.ts';

/**
 * The live service end to end: real node-media-server, real ffmpeg publishers and decoders,
 * the real fixture ONNX bundle, real WebSocket subscribers.
 */
describe('live service (RTMP → heatmaps over WebSocket)', () => {
  let server: AvlocServer;
  let client: AvlocClient;
  const publishers: Publisher[] = [];

  before(async () => {
    // A batching window wide enough that two 15 fps streams share batches on a loaded machine; a preview
    // with every frame (maxFps 0): with a cap equal to the stream's rate, ms-rounded FLV timestamps put two
    // frames in one slot now and then, and that frame rightly has none.
    server = await startTestServer({ pipeline: { maxWaitMs: 40 }, preview: { height: 720, maxFps: 0 } });
    client = await connectClient(server);
    client.subscribe('*', { format: 'binary', preview: true });
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.kill()));
    client.close();
    await server.close();
  });

  test('a published stream produces heatmaps of the card grid size, with timings and previews', async () => {
    const started = collect(client, 'stream.started', 1, (e) => e.id === 'cam1');
    publishers.push(publishRtmp(rtmpUrl(server, 'cam1')));
    await started;
    const maps = await collect(client, 'heatmap', 8, (h) => h.streamId === 'cam1');
    for (const h of maps) {
      assert.equal(h.grid.h, server.model.gridH);
      assert.equal(h.grid.w, server.model.gridW);
      assert.equal(h.grid.values.length, h.grid.h * h.grid.w);
      for (const v of h.grid.values) assert.ok(v >= -1.0001 && v <= 1.0001, `cosine out of range: ${v}`);
      assert.equal(h.hasAudio, true);
      assert.ok(h.preview !== undefined, `frame ${h.frame} has no preview`);
      assert.deepEqual([...h.preview.subarray(0, 2)], [0xff, 0xd8], 'preview is a JPEG');
      const t = h.timings;
      assert.ok(t.inferenceMs > 0 && t.waitMs >= 0 && t.sendMs >= 0 && t.decodeMs >= 0, `timings ${JSON.stringify(t)}`);
      assert.ok(h.sentAtMs >= h.doneAtMs && h.doneAtMs >= h.decodedAtMs, `times ${h.decodedAtMs} ${h.doneAtMs} ${h.sentAtMs}`);
      // Regression: capture times anchored on the late first frame lay in the future.
      assert.ok(h.captureAtMs <= h.decodedAtMs, `capture ${h.captureAtMs} after decode ${h.decodedAtMs}`);
      const c = h.counters;
      assert.ok(c.decoded >= 1 && c.analyzed + c.skipped + c.dropped <= c.decoded, `counters ${JSON.stringify(c)}`);
      assert.equal(h.peak.value, Math.max(...h.grid.values));
    }
    for (let i = 1; i < maps.length; i++) {
      assert.ok(maps[i]!.ptsMs > maps[i - 1]!.ptsMs, 'pts increase');
      assert.ok(maps[i]!.frame > maps[i - 1]!.frame, 'frame numbers increase');
    }
    const list = (await getJson(server, '/api/streams')) as { streams: { id: string; kind: string }[] };
    assert.deepEqual(list.streams.map((s) => [s.id, s.kind]), [['cam1', 'rtmp']]);
  });

  test('two concurrent streams are batched together (visible in metrics)', async () => {
    const second = collect(client, 'heatmap', 3, (h) => h.streamId === 'cam2');
    publishers.push(publishRtmp(rtmpUrl(server, 'cam2')));
    await second;
    const shared = await collect(client, 'heatmap', 1, (h) => h.batchSize >= 2);
    assert.ok(shared[0]!.batchSize >= 2);
    const text = await getText(server, '/metrics');
    const m = /avloc_batches_total\{size="2"\} (\d+)/.exec(text);
    assert.ok(m && Number(m[1]) > 0, `no batch of size 2 in metrics:\n${text.split('\n').filter((l) => l.includes('batch')).join('\n')}`);
  });

  test('killing the publisher ends the stream cleanly and frees its decoder', async () => {
    const pid = server.decoderPids().get('cam1');
    assert.ok(pid !== undefined, 'cam1 has a decoder process');
    const ended = collect(client, 'stream.ended', 1, (e) => e.id === 'cam1');
    await publishers[0]!.kill();
    await ended;
    const list = (await getJson(server, '/api/streams')) as { streams: { id: string }[] };
    assert.ok(!list.streams.some((s) => s.id === 'cam1'));
    // The decoder's ffmpeg gets SIGTERM, then SIGKILL after its grace period.
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false, 'decoder ffmpeg is gone');
    // The other stream is untouched.
    await collect(client, 'heatmap', 3, (h) => h.streamId === 'cam2');
  });

  test('a stream without audio is analyzed with silence and flagged in every message', async () => {
    const err = collect(client, 'stream.error', 1, (e) => e.id === 'mute' && e.code === 'STREAM_NO_AUDIO');
    publishers.push(publishRtmp(rtmpUrl(server, 'mute'), { audio: false }));
    const maps = await collect(client, 'heatmap', 5, (h) => h.streamId === 'mute');
    await err;
    for (const h of maps) assert.equal(h.hasAudio, false);
  });

  test('a stream without video gets STREAM_NO_VIDEO and ends; the others go on', async () => {
    const err = collect(client, 'stream.error', 1, (e) => e.id === 'novideo' && e.code === 'STREAM_NO_VIDEO', 30_000);
    const ended = collect(client, 'stream.ended', 1, (e) => e.id === 'novideo', 30_000);
    publishers.push(publishRtmp(rtmpUrl(server, 'novideo'), { video: false }));
    const [e] = await err;
    assert.match(e!.message, /no video/);
    await ended;
    await collect(client, 'heatmap', 3, (h) => h.streamId === 'cam2');
  });

  test('a subscriber that never reads stays bounded: its oldest heatmaps are dropped and counted', async () => {
    // A raw client that subscribes with previews, then stops reading its socket.
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/ws`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send(JSON.stringify({ type: 'subscribe', streams: '*', format: 'json', preview: true }));
    await new Promise((r) => setTimeout(r, 300));
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    const rssBefore = process.memoryUsage().rss;
    // Heatmaps with previews pile up against the stalled socket until the kernel's buffers are
    // full and the hub's queue has to drop; poll for that (bounded) rather than guess a duration.
    const slowStats = () => server.hub.clientStats().reduce((a, b) => (b.queueDropped > a.queueDropped ? b : a));
    for (let i = 0; i < 300 && slowStats().queueDropped === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const slow = slowStats();
    assert.ok(slow.queueDropped > 0, 'the slow client lost heatmaps (oldest first)');
    assert.ok(slow.queuedHeatmaps <= 8, `queue bound kept: ${slow.queuedHeatmaps}`);
    assert.ok(slow.bufferedAmount <= 4 * 1024 * 1024, `socket buffer bounded: ${slow.bufferedAmount}`);
    const growth = process.memoryUsage().rss - rssBefore;
    assert.ok(growth < 64 * 1024 * 1024, `rss grew by ${(growth / 1048576).toFixed(1)} MiB`);
    ws.terminate();
  });
});
