import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnalysisRateGovernor, type StreamDemand } from '../../src/pipeline/analysis-rate.ts';

const streams = (n: number, want = 30, current: number | null = null): StreamDemand[] =>
  Array.from({ length: n }, (_, i) => ({ id: `s${i}`, wantFps: want, currentFps: current }));

/** A model doing `fps` frames per second of inference time, busy for `ms` up to `now`. */
function measured(g: AnalysisRateGovernor, fps: number, ms = 2000, now = 10_000): number {
  for (let t = now - ms; t < now; t += 100) g.recordBatch(fps / 10, 100, t + 100);
  return now;
}

test('analysis rate: nothing is gated before the model has been measured, or while it keeps up', () => {
  const g = new AnalysisRateGovernor();
  assert.deepEqual([...g.plan(streams(8), 0).values()], Array(8).fill(null), 'no evidence yet');
  const now = measured(g, 100);
  assert.ok(Math.abs(g.capacityFps(now)! - 100) < 1e-9);
  assert.deepEqual([...g.plan(streams(4), now).values()], Array(4).fill(null), '4 × 30 = 120 ≤ 100 × 1.25');
});

test('analysis rate: an overloaded model gets capacity × headroom in equal shares, never below minFps', () => {
  const g = new AnalysisRateGovernor({ headroom: 1.25, minFps: 1 });
  const now = measured(g, 48);
  const plan = g.plan(streams(8), now);
  assert.deepEqual([...plan.values()], Array(8).fill(7.5), '48 × 1.25 / 8');
  const tiny = new AnalysisRateGovernor({ headroom: 1, minFps: 2 });
  assert.deepEqual([...tiny.plan(streams(16), measured(tiny, 8)).values()], Array(16).fill(2));
});

test('analysis rate: a stream that wants less than its share keeps it all, the others split the rest', () => {
  const g = new AnalysisRateGovernor({ headroom: 1 });
  const now = measured(g, 40);
  const plan = g.plan([{ id: 'slow', wantFps: 5, currentFps: null }, ...streams(3)], now);
  assert.equal(plan.get('slow'), null, 'a 5 fps camera is not gated');
  for (const id of ['s0', 's1', 's2']) assert.equal(plan.get(id), 12, '(40 − 5) / 3, two digits');
});

test('analysis rate: small changes are not made, large ones are, and a stream whose share covers it is ungated again', () => {
  const g = new AnalysisRateGovernor({ headroom: 1, hysteresis: 0.15 });
  const now = measured(g, 64);
  assert.equal(g.plan(streams(8, 30, 7.5), now).get('s0'), 7.5, '8 against 7.5 is within 15 %');
  assert.equal(g.plan(streams(8, 30, 5), now).get('s0'), 8, '8 against 5 is not');
  assert.equal(g.plan(streams(2, 30, 5), now).get('s0'), null, '2 × 30 ≤ 64: ungated');
});

test('analysis rate: the estimate follows the model as it speeds up, and old evidence fades', () => {
  const g = new AnalysisRateGovernor({ halfLifeMs: 1000 });
  let now = measured(g, 20, 3000, 10_000);
  assert.ok(Math.abs(g.capacityFps(now)! - 20) < 1e-9);
  now = measured(g, 80, 5000, 15_000);
  assert.ok(g.capacityFps(now)! > 75, `after 5 half-lives at 80 fps: ${g.capacityFps(now)}`);
  assert.equal(g.capacityFps(now + 20_000), null, 'an idle model is measured afresh');
});

test('analysis rate: bad options are refused', () => {
  assert.throws(() => new AnalysisRateGovernor({ headroom: 0.5 }), /headroom/);
  assert.throws(() => new AnalysisRateGovernor({ hysteresis: 1 }), /hysteresis/);
});
