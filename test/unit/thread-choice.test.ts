import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrtLocalizer } from '../../src/inference/localizer.ts';
import { openWithBestThreads, threadCandidates } from '../../src/inference/thread-choice.ts';

test('thread candidates: 1, 2, 4 … up to min(4, cores)', () => {
  assert.deepEqual(threadCandidates(1), [1]);
  assert.deepEqual(threadCandidates(2), [1, 2]);
  assert.deepEqual(threadCandidates(3), [1, 2]);
  assert.deepEqual(threadCandidates(16), [1, 2, 4]);
});

/** A localizer whose calls take `ms[threads]` on a virtual clock (no timing noise); records whether it was closed. */
function fakes(ms: Record<number, number>) {
  const opened: Array<{ threads: number; closed: boolean }> = [];
  let now = 0;
  const clock = () => now;
  const open = async (_dir: string, opts: { intraOpNumThreads?: number }) => {
    const threads = opts.intraOpNumThreads!;
    const rec = { threads, closed: false };
    opened.push(rec);
    const wait = async (): Promise<Float32Array[]> => {
      now += ms[threads]!;
      return [];
    };
    return {
      card: { visual: { height: 2, width: 2 }, audio: { sampleRate: 10, windowSeconds: 1 } },
      embedVisual: wait,
      embedAudio: async () => [],
      close: async () => void (rec.closed = true),
    } as unknown as OrtLocalizer;
  };
  return { open, opened, clock };
}

test('thread choice: more threads only when they are clearly faster; every other session is closed', async () => {
  const scales = fakes({ 1: 60, 2: 20, 4: 18 });
  const a = await openWithBestThreads('x', {}, { candidates: [1, 2, 4], open: scales.open, clock: scales.clock, rounds: 1, batch: 1, minFrameMs: 15 });
  assert.equal(a.choice.threads, 2, `2 threads are 3× faster; 4 only 10 % more: ${JSON.stringify(a.choice.msByThreads)}`);
  assert.deepEqual(scales.opened.map((o) => [o.threads, o.closed]), [[1, true], [2, false], [4, true]]);

  const flat = fakes({ 1: 30, 2: 28 });
  const b = await openWithBestThreads('x', {}, { candidates: [1, 2], open: flat.open, clock: flat.clock, rounds: 1, batch: 1, minFrameMs: 15 });
  assert.equal(b.choice.threads, 1, 'a few percent is not worth a thread that competes with the decoders');
  assert.deepEqual(flat.opened.map((o) => o.closed), [false, true]);

  const cheap = fakes({ 1: 30, 2: 10 });
  const c = await openWithBestThreads('x', {}, { candidates: [1, 2], open: cheap.open, clock: cheap.clock, rounds: 1, batch: 1, minFrameMs: 50 });
  assert.equal(c.choice.threads, 1, 'a model cheaper than minFrameMs a frame keeps one thread: its streams need the other cores');
});
