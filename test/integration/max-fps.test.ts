import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publishRtmp } from '../support/ffmpeg.ts';
import { collect, connectClient, rtmpUrl, startTestServer } from '../support/service.ts';

/**
 * pipeline.maxFpsPerStream: a 15 fps camera capped at 5 analyzed frames per second gets at most
 * one heatmap per 200 ms slot of media time, and (the fixture model keeping up) nearly every slot
 * gets one; the frames in between never leave the decoder (its delivered count stays at the cap).
 */
test('maxFpsPerStream caps the analyzed frames of a stream per second of media time', { timeout: 60_000 }, async () => {
  const server = await startTestServer({ pipeline: { maxFpsPerStream: 5 } });
  const client = await connectClient(server);
  const pub = publishRtmp(rtmpUrl(server, 'capped'), { fps: 15 });
  try {
    client.subscribe('*');
    const maps = await collect(client, 'heatmap', 16, (h) => h.streamId === 'capped', 40_000);
    const slots = maps.map((h) => Math.floor((h.ptsMs / 1000) * 5 + 1e-6));
    assert.equal(new Set(slots).size, slots.length, `one frame per 200 ms slot at most: ${slots.join(',')}`);
    const span = slots[slots.length - 1]! - slots[0]! + 1;
    assert.ok(maps.length >= 0.6 * span, `${maps.length} heatmaps over ${span} slots`);
    const last = maps[maps.length - 1]!;
    assert.equal(last.counters.dropped, 0);
    // Frames above the cap never leave the decoder: at 5 per second of media, not 15 (a few in flight of slack).
    const mediaSeconds = last.ptsMs / 1000;
    assert.ok(last.counters.decoded <= 5 * mediaSeconds + 4, `${last.counters.decoded} frames delivered over ${mediaSeconds.toFixed(2)} s of media`);
  } finally {
    await pub.kill();
    client.close();
    await server.close();
  }
});
