import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioRing } from '../../src/pipeline/audio-ring.ts';

/** Samples whose value is their absolute index + 1 (so 0 always means "zero padding"). */
const ramp = (from: number, n: number) => Float32Array.from({ length: n }, (_, i) => from + i + 1);

test('audio ring: window before enough audio is zero-padded on the left', () => {
  // 1000 Hz, 0.01 s window: T = 10 samples; sample i is at i ms.
  const ring = new AudioRing({ sampleRate: 1000, windowSeconds: 0.01, marginSeconds: 0.005 });
  ring.push(0, ramp(0, 4));
  assert.deepEqual([...ring.windowEndingAt(4)], [0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
});

test('audio ring: window ends exactly at the frame pts (sample at pts is excluded)', () => {
  const ring = new AudioRing({ sampleRate: 1000, windowSeconds: 0.01, marginSeconds: 0.05 });
  ring.push(0, ramp(0, 30));
  // Ending at 20 ms: samples 10..19, values 11..20.
  assert.deepEqual([...ring.windowEndingAt(20)], [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  // Sub-sample pts rounds to the nearest sample boundary.
  assert.deepEqual([...ring.windowEndingAt(19.6)], [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
});

test('audio ring: audio not yet arrived reads as zeros at the right; endPtsMs says how far audio got', () => {
  const ring = new AudioRing({ sampleRate: 1000, windowSeconds: 0.01, marginSeconds: 0.005 });
  ring.push(0, ramp(0, 15));
  assert.equal(ring.endPtsMs, 15);
  assert.equal(ring.hasAudioUntil(15), true);
  assert.equal(ring.hasAudioUntil(16), false);
  assert.deepEqual([...ring.windowEndingAt(18)], [9, 10, 11, 12, 13, 14, 15, 0, 0, 0]);
});

test('audio ring is bounded: overwritten history reads as zeros and wrap-around keeps positions', () => {
  const ring = new AudioRing({ sampleRate: 1000, windowSeconds: 0.01, marginSeconds: 0.005 });
  assert.equal(ring.capacity, 15);
  for (let t = 0; t < 100; t += 7) ring.push(t, ramp(t, 7));
  assert.equal(ring.endSample, 105);
  // Latest window across the wrap point: samples 95..104.
  assert.deepEqual([...ring.windowEndingAt(105)], [96, 97, 98, 99, 100, 101, 102, 103, 104, 105]);
  // Only samples 90..104 remain; a window ending at 95 (85..94) keeps 90..94 and zeros the rest.
  assert.deepEqual([...ring.windowEndingAt(95)], [0, 0, 0, 0, 0, 91, 92, 93, 94, 95]);
});

test('audio ring: a gap is zero-filled and an overlap keeps the audio already written', () => {
  const ring = new AudioRing({ sampleRate: 1000, windowSeconds: 0.01, marginSeconds: 0 });
  ring.push(0, ramp(0, 3));
  ring.push(6, ramp(6, 2)); // gap 3..5
  ring.push(5, new Float32Array([-1, -1, -1, 100])); // 5..7 we already have (end is 8): only sample 8 is new
  assert.equal(ring.endSample, 9);
  assert.deepEqual([...ring.windowEndingAt(9)], [0, 1, 2, 3, 0, 0, 0, 7, 8, 100]);
});

test('audio ring writes into a caller buffer and rejects one of the wrong length', () => {
  const ring = new AudioRing({ sampleRate: 1000, windowSeconds: 0.01 });
  ring.push(0, ramp(0, 10));
  const out = new Float32Array(10).fill(9);
  assert.equal(ring.windowEndingAt(10, out), out);
  assert.deepEqual([...out], [...ramp(0, 10)]);
  assert.throws(() => ring.windowEndingAt(10, new Float32Array(3)), { code: 'INTERNAL' });
});
