import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.ts';
import type { FrameResult } from '../../src/pipeline/types.ts';
import { Hub } from '../../src/publish/hub.ts';
import { MAX_NAMED_STREAMS } from '../../src/publish/hub/session.ts';
import type { HubSocket } from '../../src/publish/hub/session.ts';
import { decodeHeatmapBinary } from '../../src/wire/protocol.ts';

/** A socket whose buffer level the test sets by hand; it keeps every fragment it is given. */
class FakeSocket implements HubSocket {
  bufferedAmount = 0;
  readyState = 1;
  fragments: Array<{ data: Uint8Array | string; binary: boolean; fin: boolean }> = [];
  callbacks: Array<(err?: Error) => void> = [];
  closedWith: number | undefined;
  send(data: Uint8Array | string, o: { binary: boolean; fin: boolean }, cb?: (err?: Error) => void): void {
    this.fragments.push({ data, ...o });
    if (cb) this.callbacks.push(cb);
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  /** Whole messages (fragments joined), binary ones decoded. */
  heatmaps(): ReturnType<typeof decodeHeatmapBinary>[] {
    const out: ReturnType<typeof decodeHeatmapBinary>[] = [];
    let parts: Uint8Array[] = [];
    for (const f of this.fragments) {
      if (typeof f.data === 'string') continue;
      parts.push(f.data);
      if (!f.fin) continue;
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        all.set(p, o);
        o += p.length;
      }
      parts = [];
      if (f.binary) out.push(decodeHeatmapBinary(all));
    }
    return out;
  }
}

const log = createLogger('test', 'silent');
const result = (i: number, jpeg?: Uint8Array): FrameResult => ({
  streamId: 'cam1',
  frame: { streamId: 'cam1', index: i, ptsMs: i * 40, decodedAtMs: 1, captureAtMs: 0, width: 2, height: 2, rgb: new Uint8Array(12), ...(jpeg ? { jpeg } : {}) },
  hasAudio: true,
  gridH: 2,
  gridW: 2,
  heatmap: new Float32Array([0.1, 0.2, 0.3, Number.NaN]),
  peak: { x: 0, y: 1, u: 0.25, v: 0.75, value: Number.NaN },
  sounding: Number.NaN,
  timings: { decodeMs: 1, waitMs: 2, inferenceMs: 3 },
  batchSize: 1,
  doneAtMs: 5,
});
const c0 = { decoded: 1, skipped: 0, dropped: 0, analyzed: 1 };

test('a result is encoded once per format: two binary subscribers share the same bytes', () => {
  const hub = new Hub({ log, now: () => 10 });
  const a = new FakeSocket();
  const b = new FakeSocket();
  hub.subscribe(hub.addClient(a), '*', 'binary', false);
  hub.subscribe(hub.addClient(b), '*', 'binary', false);
  hub.publish(result(0), c0);
  const sharedA = a.fragments.filter((f) => f.binary && f.fin).map((f) => f.data);
  const sharedB = b.fragments.filter((f) => f.binary && f.fin).map((f) => f.data);
  assert.equal(sharedA.length, 1);
  assert.equal(sharedA[0], sharedB[0], 'the very same Uint8Array, not a copy');
  const [h] = a.heatmaps();
  assert.equal(h?.timings.sendMs, 5);
  assert.equal(h?.peak.value, 0, 'NaN from a broken model is sent as 0, not as invalid JSON');
  assert.equal(h?.sounding, null, 'and its sounding score as null');
  hub.close();
});

test('regression: above the high-water mark heatmaps queue, the oldest drop, and the drain sends the rest', () => {
  const hub = new Hub({ log, heatmapQueueLimit: 3, highWaterMarkBytes: 1000, now: () => 10 });
  const s = new FakeSocket();
  const client = hub.addClient(s);
  hub.subscribe(client, ['cam1'], 'binary', true);
  s.bufferedAmount = 5000; // the peer stopped reading
  for (let i = 0; i < 10; i++) hub.publish(result(i, new Uint8Array(100)), c0);
  let st = hub.clientStats()[0];
  assert.equal(st?.queuedHeatmaps, 3);
  assert.equal(st?.queueDropped, 7);
  assert.equal(s.heatmaps().length, 0);
  s.bufferedAmount = 0; // the peer read everything; ws calls back for the last write
  for (const cb of s.callbacks.splice(0)) cb();
  const got = s.heatmaps();
  assert.deepEqual(got.map((h) => h.frame), [7, 8, 9]);
  assert.deepEqual(got.map((h) => h.counters.queueDropped), [7, 7, 7]);
  assert.equal(got[0]?.preview?.length, 100);
  st = hub.clientStats()[0];
  assert.equal(st?.queuedMessages, 0);
  hub.close();
});

test('a client whose control queue overflows is disconnected, never silently missing events', () => {
  const hub = new Hub({ log, controlQueueLimit: 4, highWaterMarkBytes: 0 });
  const s = new FakeSocket();
  s.bufferedAmount = 1;
  const client = hub.addClient(s);
  hub.subscribe(client, '*', 'json', false); // the `streams` answer is the first control message
  for (let i = 0; i < 4; i++) hub.streamStarted(`s${i}`, 'rtmp', 0);
  assert.equal(s.closedWith, 1008);
  assert.equal(hub.clientStats().length, 0);
  hub.close();
});

test('regression: a connection cannot name more than MAX_NAMED_STREAMS ids, by subscribing or by excluding', () => {
  const hub = new Hub({ log, now: () => 10 });
  const c = hub.addClient(new FakeSocket());
  const ids = (from: number) => Array.from({ length: 256 }, (_, i) => `s${from + i}`);
  for (let k = 0; k < MAX_NAMED_STREAMS / 256; k++) hub.subscribe(c, ids(k * 256), 'binary', false);
  assert.throws(() => hub.subscribe(c, ids(MAX_NAMED_STREAMS), 'binary', false), /at most 1024 stream ids/);
  hub.subscribe(c, ids(0), 'binary', false);   // ids already named cost nothing
  hub.unsubscribe(c, '*');
  hub.subscribe(c, '*', 'binary', false);
  for (let k = 0; k < MAX_NAMED_STREAMS / 256; k++) hub.unsubscribe(c, ids(k * 256));
  assert.throws(() => hub.unsubscribe(c, ids(MAX_NAMED_STREAMS)), /at most 1024 stream ids/);
  hub.close();
});
