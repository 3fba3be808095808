import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { StreamCounterRegistry } from '../../src/pipeline/counters.ts';
import { SchedulerCore, scheduleBatches, type SchedulerInput } from '../../src/pipeline/scheduler.ts';
import type { FrameJob } from '../../src/pipeline/types.ts';

function job(streamId: string, index: number, refreshAudio = false): SchedulerInput {
  const frame = { streamId, index, ptsMs: index * 40, decodedAtMs: 0, captureAtMs: 0, width: 1, height: 1, rgb: new Uint8Array(3) };
  const j: FrameJob = { window: { frame, audio: new Float32Array(1), hasAudio: true }, refreshAudio, enqueuedAtMs: 0 };
  return { type: 'job', job: j };
}
const end = (streamId: string): SchedulerInput => ({ type: 'end', streamId });
/** A result names its job and the size of the batch it ran in: "s1#3/2". */
const label = (j: FrameJob, n: number) => `${j.window.frame.streamId}#${j.window.frame.index}/${n}`;

function marbles(fn: (h: Parameters<Parameters<TestScheduler['run']>[0]>[0]) => void): void {
  new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(fn);
}

test('scheduler skip: a newer job replaces the waiting one while the runner is busy', () => {
  const counters = new StreamCounterRegistry();
  marbles(({ hot, cold, expectObservable }) => {
    // a dispatches at once (only stream, runner idle); b waits, c replaces it; c runs when a is done.
    const input = hot('a-b-c-----------|', { a: job('s1', 0), b: job('s1', 1), c: job('s1', 2) });
    const run = (jobs: readonly FrameJob[]) => cold('-----(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, counters, maxWaitMs: 3, deadlineMs: 100 }))).toBe(
      '-----x----y-----|',
      { x: 's1#0/1', y: 's1#2/1' },
    );
  });
  assert.deepEqual(counters.get('s1'), { decoded: 0, skipped: 1, dropped: 0, analyzed: 2 });
});

test('scheduler batch: jobs of two streams that are ready together land in one batch', () => {
  const counters = new StreamCounterRegistry();
  marbles(({ hot, cold, expectObservable }) => {
    // a, b make both streams known (a goes alone at once; b waits maxWaitMs for s1, then goes alone);
    // then c and d arrive together while the runner is idle and go out as one batch of 2.
    const input = hot('a-b-----(cd)----|', { a: job('s1', 0), b: job('s2', 0), c: job('s1', 1), d: job('s2', 1) });
    const run = (jobs: readonly FrameJob[]) => cold('-(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, counters, maxWaitMs: 3, deadlineMs: 100 }))).toBe(
      '-a----b--(cd)---|',
      { a: 's1#0/1', b: 's2#0/1', c: 's1#1/2', d: 's2#1/2' },
    );
  });
  assert.equal(counters.get('s1')?.analyzed, 2);
  assert.equal(counters.get('s2')?.analyzed, 2);
});

test('scheduler max wait: a lone job waits maxWaitMs for the other streams, then goes alone', () => {
  marbles(({ hot, cold, expectObservable }) => {
    // Both streams are known after a, b (b itself waits 5 for s1). c (s1) arrives alone at 10 and goes at 10 + 5.
    const input = hot('a-b-------c---------|', { a: job('s1', 0), b: job('s2', 0), c: job('s1', 1) });
    const run = (jobs: readonly FrameJob[]) => cold('(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, maxWaitMs: 5, deadlineMs: 100 }))).toBe(
      'a------b-------c----|',
      { a: 's1#0/1', b: 's2#0/1', c: 's1#1/1' },
    );
  });
});

test('scheduler max wait is not reset by replacements (a busy stream cannot starve itself)', () => {
  marbles(({ hot, cold, expectObservable }) => {
    // s1 sends a job every 2 ms; with maxWaitMs 5 a reset-on-replace clock would never dispatch.
    const input = hot('a-b-----c-d-e-f-g-h---|', {
      a: job('s1', 0), b: job('s2', 0), c: job('s1', 1), d: job('s1', 2), e: job('s1', 3), f: job('s1', 4), g: job('s1', 5), h: job('s1', 6),
    });
    const run = (jobs: readonly FrameJob[]) => cold('(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, maxWaitMs: 5, deadlineMs: 100 }))).toBe(
      // c fills s1's slot at 8; at 8 + 5 the newest job there (e) goes; f refills it at 14, h goes at 19.
      'a------b-----x-----y--|',
      { a: 's1#0/1', b: 's2#0/1', x: 's1#3/1', y: 's1#6/1' },
    );
  });
});

test('scheduler deadline: a job that waits past deadlineMs while the runner is busy is dropped', () => {
  const counters = new StreamCounterRegistry();
  marbles(({ hot, cold, expectObservable }) => {
    // a runs for 30 ms; b waits from 2 and is dropped at 2 + 20 = 22; nothing else is analyzed.
    const input = hot('a-b-----------------------------------|', { a: job('s1', 0), b: job('s1', 1) });
    const run = (jobs: readonly FrameJob[]) => cold('------------------------------(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, counters, maxWaitMs: 5, deadlineMs: 20 }))).toBe(
      '------------------------------a-------|',
      { a: 's1#0/1' },
    );
  });
  assert.deepEqual(counters.get('s1'), { decoded: 0, skipped: 0, dropped: 1, analyzed: 1 });
});

test('scheduler busy runner: jobs wait in their slots, one per stream, and go out as one batch', () => {
  const counters = new StreamCounterRegistry();
  marbles(({ hot, cold, expectObservable }) => {
    // While a (s1) runs 0..10, s2 and s1 send 5 jobs; only the newest of each runs, together, at 10.
    const input = hot('ab-c-d-e-f---------------|', {
      a: job('s1', 0), b: job('s2', 0), c: job('s1', 1), d: job('s2', 1), e: job('s1', 2), f: job('s2', 2),
    });
    const run = (jobs: readonly FrameJob[]) => cold('----------(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, counters, maxWaitMs: 3, deadlineMs: 100 }))).toBe(
      '----------a---------(xy)-|',
      { a: 's1#0/1', x: 's2#2/2', y: 's1#2/2' },
    );
  });
  // s2's first job b was replaced by d, then f; s1's c by e.
  assert.equal(counters.get('s1')?.skipped, 1);
  assert.equal(counters.get('s2')?.skipped, 2);
});

test('scheduler respects maxInFlight: a second batch starts only when there is room', () => {
  marbles(({ hot, cold, expectObservable }) => {
    const input = hot('a-b------|', { a: job('s1', 0), b: job('s1', 1) });
    const run = (jobs: readonly FrameJob[]) => cold('----(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, maxInFlight: 2, maxWaitMs: 1, deadlineMs: 100 }))).toBe(
      '----a-b--|',
      { a: 's1#0/1', b: 's1#1/1' },
    );
  });
});

test('scheduler end of stream frees its slot and counters', () => {
  const counters = new StreamCounterRegistry();
  let core: SchedulerCore | undefined;
  marbles(({ hot, cold, expectObservable }) => {
    const input = hot('a-b-e--------|', { a: job('s1', 0), b: job('s1', 1), e: end('s1') });
    const run = (jobs: readonly FrameJob[]) => cold('-----(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(
      input.pipe(scheduleBatches(run, { maxBatchSize: 8, counters, maxWaitMs: 1, deadlineMs: 100, onCore: (c) => (core = c) })),
    ).toBe('-----a-------|', { a: 's1#0/1' });
  });
  assert.equal(counters.get('s1'), undefined);
  assert.equal(counters.size, 0);
  assert.equal(core?.waiting, 0);
  assert.equal(core?.liveStreams, 0);
});

test('scheduler regression: a refresh is not lost when its job is skipped or dropped', () => {
  const core = new SchedulerCore({ maxBatchSize: 4, maxWaitMs: 5, deadlineMs: 50 });
  const [first] = core.process(job('s1', 0, true), 0);
  assert.ok(first);
  // Runner busy: a refreshing job is replaced by a plain one, which must inherit the refresh.
  core.process(job('s1', 1, true), 1);
  core.process(job('s1', 2, false), 2);
  const [second] = core.process({ type: 'done', batchId: first.id, ok: true }, 3);
  assert.equal(second?.jobs[0]?.window.frame.index, 2);
  assert.equal(second?.jobs[0]?.refreshAudio, true);
  // A refreshing job dropped at its deadline passes the refresh to the stream's next job.
  core.process(job('s1', 3, true), 4);
  assert.deepEqual(core.process({ type: 'tick' }, 54), []);
  assert.equal(core.counters.get('s1')?.dropped, 1);
  core.process({ type: 'done', batchId: second!.id, ok: true }, 55);
  const [third] = core.process(job('s1', 4, false), 56);
  assert.equal(third?.jobs[0]?.refreshAudio, true);
});

test('scheduler: a failing runner counts its jobs as dropped and later batches still run', () => {
  const counters = new StreamCounterRegistry();
  const errors: unknown[] = [];
  marbles(({ hot, cold, expectObservable }) => {
    const input = hot('a----b----|', { a: job('s1', 0), b: job('s1', 1) });
    let calls = 0;
    const run = (jobs: readonly FrameJob[]) =>
      calls++ === 0 ? cold<string[]>('-#', {}, new Error('ort failed')) : cold('-(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, counters, maxWaitMs: 1, deadlineMs: 100, onBatchError: (e) => errors.push(e) }))).toBe(
      '------b---|',
      { b: 's1#1/1' },
    );
  });
  assert.equal(errors.length, 1);
  assert.deepEqual(counters.get('s1'), { decoded: 0, skipped: 0, dropped: 1, analyzed: 1 });
});

test('scheduler flushes waiting jobs when its source completes, then completes', () => {
  marbles(({ hot, cold, expectObservable }) => {
    // b (s2) waits for a batch partner from s1 (maxWait 50), but the source ends at 2: b goes then.
    const input = hot('ab|', { a: job('s1', 0), b: job('s2', 0) });
    const run = (jobs: readonly FrameJob[]) => cold('(r|)', { r: jobs.map((j) => label(j, jobs.length)) });
    expectObservable(input.pipe(scheduleBatches(run, { maxBatchSize: 8, maxWaitMs: 50, deadlineMs: 100 }))).toBe('a-(b|)', {
      a: 's1#0/1', b: 's2#0/1',
    });
  });
});

test('scheduler rejects options that could never dispatch before the deadline', () => {
  assert.throws(() => new SchedulerCore({ maxBatchSize: 8, maxWaitMs: 100, deadlineMs: 100 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => new SchedulerCore({ maxBatchSize: 0, maxWaitMs: 10, deadlineMs: 1000 }), { code: 'CONFIG_INVALID' });
});
