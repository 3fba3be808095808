import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameJoiner } from '../../src/media/frame-joiner.ts';

test('frame joiner pairs pts, rgb and jpeg arriving in any order', () => {
  const j = new FrameJoiner(true);
  const rgb = (v: number) => Uint8Array.from([v]);
  assert.deepEqual(j.pushRgb(rgb(1)), []);
  assert.deepEqual(j.pushJpeg(rgb(11)), []);
  const f0 = j.pushPts(0);
  assert.equal(f0.length, 1);
  assert.deepEqual([f0[0]!.n, f0[0]!.ptsMs, f0[0]!.rgb[0], f0[0]!.jpeg?.[0]], [0, 0, 1, 11]);
  j.pushPts(40);
  j.pushPts(80);
  j.pushRgb(rgb(2));
  assert.equal(j.pushJpeg(rgb(12))[0]?.ptsMs, 40);
  j.pushRgb(rgb(3));
  const tail = j.flush();
  assert.deepEqual(tail.map((f) => [f.n, f.ptsMs, f.jpeg]), [[2, 80, undefined]], 'a frame without its preview still comes out at the end');
});
test('frame joiner queues are bounded and count drops', () => {
  const j = new FrameJoiner(false, 3);
  for (let i = 0; i < 5; i++) j.pushPts(i);
  assert.equal(j.dropped, 2);
});
test('frame joiner: frames the preview cap skipped come out without waiting for a JPEG', () => {
  const j = new FrameJoiner(true);
  const rgb = (v: number) => new Uint8Array([v]);
  assert.deepEqual(j.pushPts(0, true), []);
  assert.deepEqual(j.pushRgb(rgb(1)), [], 'waits for the JPEG of a frame that has one');
  assert.equal(j.pushPts(40, false).length, 0);
  const out = [...j.pushRgb(rgb(2)), ...j.pushJpeg(new Uint8Array([0xff]))];
  assert.deepEqual(out.map((f) => [f.n, f.ptsMs, f.rgb[0], f.jpeg?.[0]]), [[0, 0, 1, 0xff], [1, 40, 2, undefined]]);
});
