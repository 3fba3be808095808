import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audioShare, batchHistogram, fairCeilingRow, interpolatedCost, modelOnlyFps, solveFairCeiling } from '../../bench/parts/fair-ceiling.ts';
import { parseBenchArgs } from '../../bench/args.ts';

// A model whose visual call costs 10 ms per item and audio 2 ms per window, at any batch size.
const linear = { visualMs: (b: number) => 10 * b, audioMs: (k: number) => 2 * k };

test('audio windows per analyzed frame follow the cadence, at most one', () => {
  assert.equal(audioShare(30, 250), 4 / 30);
  assert.equal(audioShare(4, 250), 1, 'a stream analyzing 4 frames/s refreshes audio on every frame');
  assert.equal(audioShare(2, 250), 1);
  assert.equal(audioShare(0, 250), 1);
});

test('model-only frames/s counts each batch with its audio windows', () => {
  const hist = batchHistogram([1, 1, 1, 1]);
  assert.deepEqual([...hist], [[1, 4]]);
  // One audio window per frame: 12 ms per frame.
  assert.ok(Math.abs(modelOnlyFps(hist, linear, 1) - 1000 / 12) < 1e-9);
  // No audio at all: 10 ms per frame.
  assert.ok(Math.abs(modelOnlyFps(hist, linear, 0) - 100) < 1e-9);
  assert.ok(Number.isNaN(modelOnlyFps(new Map(), linear, 1)));
});

test('the fair ceiling is the decode rate when the model is faster, else the model rate at its own audio share', () => {
  const hist = new Map([[1, 100]]);
  const fast = solveFairCeiling(1, 30, hist, { visualMs: () => 1, audioMs: () => 1 }, 250);
  assert.equal(fast.fair, 30);
  // Model-bound: 10 ms visual + 2 ms per audio window. At F frames/s for one stream the share is
  // min(1, 4 / F); the fixed point F = 1000 / (10 + 2 · 4 / F) gives F = (1000 − 8) / 10 = 99.2.
  const slow = solveFairCeiling(1, 300, hist, linear, 250);
  assert.ok(Math.abs(slow.fair - 99.2) < 1e-3, `fair ${slow.fair}`);
  assert.ok(Math.abs(slow.audioPerFrame - 4 / 99.2) < 1e-4);
  const row = fairCeilingRow(1, 30, 300, hist, linear, 250, 49.6);
  assert.equal(row.bound, 'model');
  assert.ok(Math.abs(row.fairCeilingRatio - 0.5) < 1e-3);
  assert.deepEqual(row.batchSizes, { '1': 100 });
});

test('call costs interpolate per item between measured batch sizes', () => {
  const cost = interpolatedCost(new Map([[1, 10], [4, 20]]));
  assert.equal(cost(1), 10);
  assert.equal(cost(4), 20);
  // Per item 10 at 1 and 5 at 4: two thirds of the way at 3 → 6.67 per item.
  assert.ok(Math.abs(cost(3) - 3 * (10 + (2 / 3) * (5 - 10))) < 1e-9);
  assert.equal(cost(8), 40, 'past the largest size the last per-item cost holds');
});

test('bench args: the heavy regime is on by default, --no-heavy turns it off, --max-fps sets the cap', () => {
  const q = parseBenchArgs(['--quick']);
  assert.ok(q !== 'help');
  assert.match(q.heavy ?? '', /avin-rn-random/);
  assert.deepEqual(q.heavyStreams, [1, 4]);
  assert.ok(q.parts.includes('fair'));
  const off = parseBenchArgs(['--no-heavy', '--max-fps', '10']);
  assert.ok(off !== 'help');
  assert.equal(off.heavy, null);
  assert.equal(off.maxFps, 10);
  assert.throws(() => parseBenchArgs(['--max-fps', '0']));
});
