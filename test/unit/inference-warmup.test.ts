import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrtLocalizer, type Localizer } from '../../src/inference/localizer.ts';
import { warmUp } from '../../src/inference/warmup.ts';

test('warm-up runs both graphs at every batch size, largest first, on inputs of the model\'s shape, then times each visual batch', async () => {
  const ort = await OrtLocalizer.open('test/fixtures/avin-tiny-random', { intraOpNumThreads: 1 });
  const calls: string[] = [];
  const spy: Localizer = {
    card: ort.card,
    device: ort.device,
    embedVisual: (frames) => {
      calls.push(`v${frames.length}`);
      return ort.embedVisual(frames);
    },
    embedAudio: (windows) => {
      calls.push(`a${windows.length}`);
      return ort.embedAudio(windows);
    },
    close: () => ort.close(),
  };
  try {
    const r = await warmUp(spy, 3);
    assert.deepEqual(calls, ['v3', 'a3', 'v2', 'a2', 'v1', 'a1', 'v1', 'v2', 'v3'], 'then the visual graph timed once more at each size');
    assert.equal(r.batches, 3);
    assert.ok(r.ms > 0);
    const timed = r.visualMsPerFrame;
    assert.ok(timed !== null && timed.length === 3 && timed.every((m) => m > 0 && Number.isFinite(m)), String(timed));
    calls.length = 0;
    const untimed = await warmUp(spy, 2, false);
    assert.equal(untimed.visualMsPerFrame, null);
    assert.deepEqual(calls, ['v2', 'a2', 'v1', 'a1'], 'no timed pass when nobody uses it');
  } finally {
    await spy.close();
  }
});
