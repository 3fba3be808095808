import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeHeatmap, findPeak, levelDb, soundingScore } from '../../src/inference/heatmap.ts';

test('heatmap is the per-cell dot product of features [C,h,w] with the embedding [C]', () => {
  // C = 2, grid 2×3. Channel 0 plane, then channel 1 plane.
  const features = Float32Array.from([
    1, 0, 0.5, 0, -1, 0.25,
    0, 1, 0.5, 2, 0, -0.5,
  ]);
  const embedding = Float32Array.from([2, -1]);
  const map = computeHeatmap(features, embedding, 2, 2, 3);
  assert.deepEqual([...map], [2, -1, 0.5, -2, -2, 1]);
});

test('heatmap writes into a reused buffer and clears what was there', () => {
  const out = new Float32Array(4).fill(7);
  computeHeatmap(Float32Array.from([1, 2, 3, 4]), Float32Array.from([0.5]), 1, 2, 2, out);
  assert.deepEqual([...out], [0.5, 1, 1.5, 2]);
});

test('heatmap rejects features and embedding that disagree with C, h, w', () => {
  assert.throws(() => computeHeatmap(new Float32Array(5), new Float32Array(1), 1, 2, 2), { code: 'INTERNAL' });
  assert.throws(() => computeHeatmap(new Float32Array(8), new Float32Array(3), 2, 2, 2), { code: 'INTERNAL' });
});

test('peak: grid cell of the maximum, its normalized centre and value', () => {
  // 2 rows × 3 columns; max at row 1, column 2.
  const p = findPeak(Float32Array.from([0.1, 0.2, 0.3, -0.5, 0.0, 0.9]), 2, 3);
  assert.deepEqual(p, { x: 2, y: 1, u: 2.5 / 3, v: 0.75, value: Math.fround(0.9) });
});

test('peak: the first maximum wins on ties and NaN cells never win', () => {
  assert.deepEqual(findPeak(Float32Array.from([Number.NaN, 0.5, 0.5, 0]), 2, 2), { x: 1, y: 0, u: 0.75, v: 0.25, value: 0.5 });
  assert.ok(Number.isNaN(findPeak(Float32Array.from([Number.NaN]), 1, 1).value));
});

test('soundingScore: the card\'s logistic of peak cosine and window level; null without calibration or with a NaN peak', () => {
  const peak = { x: 0, y: 0, u: 0.5, v: 0.5, value: 0.4 };
  const cal = { score: 'peak' as const, logistic: { a: 10, b: -4 } };
  assert.equal(soundingScore(peak, -20, cal), 0.5, 'a·0.4 + b = 0 → 0.5; no level term');
  assert.ok(soundingScore({ ...peak, value: 0.9 }, -20, cal)! > 0.99);
  assert.ok(soundingScore({ ...peak, value: 0.0 }, -20, cal)! < 0.02);
  const withLevel = { score: 'peak' as const, logistic: { a: 10, b: 4, level: 0.2 } };
  assert.equal(soundingScore(peak, -40, withLevel), 0.5, '4 + 4 - 8 = 0');
  assert.ok(soundingScore(peak, -100, withLevel)! < 1e-4, 'digital silence is never "sounding"');
  assert.equal(soundingScore(peak, -20, undefined), null);
  assert.equal(soundingScore({ ...peak, value: Number.NaN }, -20, cal), null);
});

test('levelDb: RMS in dBFS, silence floored at -100', () => {
  assert.equal(levelDb(new Float32Array(100)), -100);
  assert.ok(Math.abs(levelDb(new Float32Array(100).fill(0.1)) - -20) < 1e-5);
  assert.ok(Math.abs(levelDb(new Float32Array(100).fill(-1)) - 0) < 1e-9);
});
