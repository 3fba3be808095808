import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publishRtmp } from '../support/ffmpeg.ts';
import { getJson, rtmpUrl, startTestServer } from '../support/service.ts';

/**
 * limits.maxStreams caps live streams over every door together (each costs a decoder process):
 * past it an RTMP publisher is disconnected and a WHIP offer gets 503, before anything is
 * allocated for them; the streams already live are untouched, and a freed slot can be taken again.
 */
async function liveIds(server: Parameters<typeof getJson>[0]): Promise<string[]> {
  const list = (await getJson(server, '/api/streams')) as { streams: { id: string; state: string }[] };
  return list.streams.filter((s) => s.state !== 'ended').map((s) => s.id).sort();
}

async function until(cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('regression: publishers past limits.maxStreams are refused at the door, RTMP and WHIP alike', { timeout: 60_000 }, async () => {
  const server = await startTestServer({ limits: { maxStreams: 2 } });
  const pubs = [publishRtmp(rtmpUrl(server, 'a')), publishRtmp(rtmpUrl(server, 'b'))];
  try {
    await until(async () => (await liveIds(server)).length === 2);
    const third = publishRtmp(rtmpUrl(server, 'c'));
    pubs.push(third);
    const t0 = Date.now();
    await third.exited;
    assert.ok(Date.now() - t0 < 5000, 'the third RTMP publisher is disconnected at once');
    assert.notEqual(third.child.exitCode, 0);
    const whip = await fetch(`http://127.0.0.1:${server.httpPort}/whip/d`, {
      method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0',
    });
    assert.equal(whip.status, 503, 'a WHIP offer past the cap is refused too');
    assert.deepEqual(await liveIds(server), ['a', 'b'], 'the live streams are untouched');
    await pubs[0]!.kill();
    await until(async () => !(await liveIds(server)).includes('a'));
    const again = publishRtmp(rtmpUrl(server, 'c'));
    pubs.push(again);
    await until(async () => (await liveIds(server)).includes('c'));
  } finally {
    await Promise.all(pubs.map((p) => p.kill()));
    await server.close();
  }
});
