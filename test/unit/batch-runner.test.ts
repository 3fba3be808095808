import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchRunner } from '../../src/inference/batch-runner.ts';
import type { Localizer } from '../../src/inference/localizer.ts';
import type { ModelCard } from '../../src/inference/model-card.ts';
import type { FrameJob } from '../../src/pipeline/types.ts';

/**
 * A fake Localizer: C = 2, grid 1×2, features = identity (channel c lights cell c), embedding =
 * the first two audio samples. So a result's heatmap shows exactly which audio it was scored against.
 */
function fakeLocalizer() {
  const calls: { audio: number; visual: number }[] = [];
  const card = {
    visual: { channels: 2, grid: [1, 2], height: 1, width: 1 },
    audio: { channels: 2, sampleRate: 2, windowSeconds: 1 },
  } as unknown as ModelCard;
  const loc: Localizer = {
    card,
    device: 'cpu',
    embedAudio: async (ws) => {
      calls.push({ audio: ws.length, visual: 0 });
      return ws.map((w) => Float32Array.from([w[0]!, w[1]!]));
    },
    embedVisual: async (fs) => {
      calls.push({ audio: 0, visual: fs.length });
      return fs.map(() => Float32Array.from([1, 0, 0, 1]));
    },
    close: async () => {},
  };
  return { loc, calls };
}

function job(streamId: string, index: number, audio: [number, number], refreshAudio: boolean, enqueuedAtMs = 0): FrameJob {
  return {
    window: {
      frame: { streamId, index, ptsMs: index * 40, decodedAtMs: 105, captureAtMs: 100, width: 1, height: 1, rgb: new Uint8Array(3) },
      audio: Float32Array.from(audio),
      hasAudio: true,
    },
    refreshAudio,
    enqueuedAtMs,
  };
}

test('batch runner: refreshing jobs embed their audio in one batch; the others reuse their stream embedding', async () => {
  const { loc, calls } = fakeLocalizer();
  const runner = new BatchRunner(loc);
  await runner.run([job('a', 0, [0.1, 0.2], true), job('b', 0, [0.3, 0.4], true)]);
  calls.length = 0;
  const res = await runner.run([job('a', 1, [9, 9], false), job('b', 1, [0.5, 0.6], true)]);
  assert.deepEqual(calls, [{ audio: 1, visual: 0 }, { audio: 0, visual: 2 }]);
  assert.deepEqual([...res[0]!.heatmap], [Math.fround(0.1), Math.fround(0.2)], 'a reuses its stored embedding, not its own audio');
  assert.deepEqual([...res[1]!.heatmap], [Math.fround(0.5), Math.fround(0.6)], 'b refreshed');
  assert.deepEqual(res[1]!.peak, { x: 1, y: 0, u: 0.75, v: 0.5, value: Math.fround(0.6) });
  assert.equal(res[0]!.batchSize, 2);
});

test('batch runner: many frames of one stream in a batch (offline) — each uses the embedding as of itself, so results do not depend on batch splits', async () => {
  const frames = [job('a', 0, [0.1, 0.2], true), job('a', 1, [9, 9], false), job('a', 2, [0.3, 0.4], true), job('a', 3, [8, 8], false)];
  const whole = await new BatchRunner(fakeLocalizer().loc).run(frames);
  const seen = whole.map((r) => [...r.heatmap]);
  const f = Math.fround;
  assert.deepEqual(seen, [[f(0.1), f(0.2)], [f(0.1), f(0.2)], [f(0.3), f(0.4)], [f(0.3), f(0.4)]], 'frame 1 keeps frame 0\'s embedding, not frame 2\'s (its future)');
  const split = new BatchRunner(fakeLocalizer().loc);
  const parts = [...(await split.run(frames.slice(0, 1))), ...(await split.run(frames.slice(1, 3))), ...(await split.run(frames.slice(3)))];
  assert.deepEqual(parts.map((r) => [...r.heatmap]), seen, 'the same heatmaps whatever the batch boundaries');
});

test('batch runner: a job whose stream has no embedding and no refresh uses its own audio', async () => {
  const { loc, calls } = fakeLocalizer();
  const runner = new BatchRunner(loc);
  const [r] = await runner.run([job('a', 5, [0.7, 0.1], false)]);
  assert.equal(calls[0]?.audio, 1);
  assert.deepEqual([...r!.heatmap], [Math.fround(0.7), Math.fround(0.1)]);
});

test('batch runner timings: wait from enqueue to dispatch, inference around the ORT calls, decode from the frame', async () => {
  const { loc } = fakeLocalizer();
  let t = 1000;
  const runner = new BatchRunner(loc, { clock: () => (t += 10) });
  // clock reads: dispatch 1010, t0 1020, after ORT 1030, doneAt 1040.
  const [r] = await runner.run([job('a', 0, [1, 0], true, 990)]);
  assert.deepEqual(r!.timings, { decodeMs: 5, waitMs: 20, inferenceMs: 10 });
  assert.equal(r!.doneAtMs, 1040);
});

test('batch runner frees a stream embedding on forget, also when the stream ends mid-batch', async () => {
  const { loc } = fakeLocalizer();
  const runner = new BatchRunner(loc);
  await runner.run([job('a', 0, [1, 0], true)]);
  assert.equal(runner.streams, 1);
  runner.forget('a');
  assert.equal(runner.streams, 0);
  const pending = runner.run([job('b', 0, [1, 0], true)]);
  runner.forget('b'); // b ends while its batch runs
  await pending;
  assert.equal(runner.streams, 0, 'a finished batch must not re-add a forgotten stream');
});

test('batch runner keeps at most maxStreams embeddings (a missed forget cannot grow it)', async () => {
  const { loc } = fakeLocalizer();
  const runner = new BatchRunner(loc, { maxStreams: 2 });
  for (const id of ['a', 'b', 'c']) await runner.run([job(id, 0, [1, 0], true)]);
  assert.equal(runner.streams, 2);
  assert.equal(runner.evicted, 1);
});

test('batch runner rejects runs after close with CLOSED', async () => {
  const { loc } = fakeLocalizer();
  const runner = new BatchRunner(loc);
  runner.close();
  runner.close();
  await assert.rejects(runner.run([job('a', 0, [1, 0], true)]), { code: 'CLOSED' });
});

test('batch runner: a stream that ends while its batch runs does not fail the batch (regression)', async () => {
  const { loc } = fakeLocalizer();
  const runner = new BatchRunner(loc);
  await runner.run([job('a', 0, [0.1, 0.2], true), job('b', 0, [0.3, 0.4], true)]);
  // Stream a ends (server.ts calls forget) while the next batch is inside the model.
  const visual = loc.embedVisual;
  loc.embedVisual = async (fs) => {
    runner.forget('a');
    return visual(fs);
  };
  const res = await runner.run([job('a', 1, [9, 9], false), job('b', 1, [9, 9], false)]);
  assert.equal(res.length, 2);
  assert.deepEqual([...res[1]!.heatmap], [Math.fround(0.3), Math.fround(0.4)], 'b keeps its embedding');
  assert.deepEqual([...res[0]!.heatmap], [Math.fround(0.1), Math.fround(0.2)], 'a is scored with the embedding it had');
  assert.equal(runner.streams, 1, 'a is not re-added after it was forgotten');
});
