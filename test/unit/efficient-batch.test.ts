import assert from 'node:assert/strict';
import { test } from 'node:test';
import { efficientBatch } from '../../src/inference/warmup.ts';

test('efficient batch: the smallest batch within 10 % of the cheapest cost per frame', () => {
  // This CPU, default model (ms per frame at batch 1..8): flat, so one frame at a time.
  assert.equal(efficientBatch([15.3, 15.1, 15.2, 15.4, 15.9, 16.1, 16.5, 16.8]), 1);
  // A GPU-like curve: a batch of 8 costs little more than a batch of 1.
  assert.equal(efficientBatch([4, 2.1, 1.5, 1.1, 0.95, 0.85, 0.8, 0.75]), 7);
  assert.equal(efficientBatch([10, 6, 5.4]), 3);
  assert.equal(efficientBatch([10, 6, 5.4], 0.2), 2);
  assert.equal(efficientBatch([]), 1);
  assert.equal(efficientBatch([Number.NaN, 3, 3]), 2, 'a size that could not be timed is not chosen');
});
