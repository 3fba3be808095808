import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientQueue } from '../../src/publish/client-queue.ts';
import type { QueueEntry } from '../../src/publish/client-queue.ts';
import type { EncodedHeatmap } from '../../src/wire/protocol.ts';

const enc = (n: number): EncodedHeatmap => ({
  format: 'binary',
  shared: new Uint8Array(n),
  perSendFirst: true,
  byteLength: n,
  perSend: () => new Uint8Array(0),
});
const hm = (i: number): QueueEntry => ({ kind: 'heatmap', streamId: `s${i}`, captureAtMs: 0, doneAtMs: 0, encoded: enc(100) });
const ctl = (t: string): QueueEntry => ({ kind: 'control', text: t });

test('drop-oldest-heatmap: the oldest heatmap goes, control messages and order stay', () => {
  const q = new ClientQueue(2, 10);
  assert.deepEqual(q.push(hm(1)), { ok: true });
  q.push(ctl('a'));
  q.push(hm(2));
  const r = q.push(hm(3));
  assert.equal(r.ok, true);
  assert.equal(r.ok && r.dropped?.streamId, 's1');
  assert.equal(q.heatmapCount, 2);
  assert.equal(q.byteLength, 201);
  const order: string[] = [];
  for (let e = q.shift(); e; e = q.shift()) order.push(e.kind === 'control' ? e.text : e.streamId);
  assert.deepEqual(order, ['a', 's2', 's3']);
  assert.equal(q.byteLength, 0);
});

test('control overflow is reported, never silently dropped', () => {
  const q = new ClientQueue(2, 2);
  assert.equal(q.push(ctl('a')).ok, true);
  assert.equal(q.push(ctl('b')).ok, true);
  assert.equal(q.push(ctl('c')).ok, false);
  assert.equal(q.controlCount, 2);
});
