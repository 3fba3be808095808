import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AV_SYNC_OPTS, audioEvent, frameEvent } from '../support/media-events.ts';
import { AvSyncCore } from '../../src/pipeline/av-sync.ts';

const opts = { ...AV_SYNC_OPTS, inOrderQueue: 3 };
const frame = frameEvent;
const audio = audioEvent;

test('av-sync inOrderQueue: frames ahead of their audio wait in order and each gets its own complete window', () => {
  const core = new AvSyncCore(opts);
  assert.deepEqual(core.process(frame(0, 10), 0), []);
  assert.deepEqual(core.process(frame(1, 20), 0), []);
  const first = core.process(audio(0, 15), 1);
  assert.deepEqual(first.map((w) => w.frame.index), [0]);
  const rest = core.process(audio(15, 10, 2), 2);
  assert.deepEqual(rest.map((w) => w.frame.index), [1]);
  assert.deepEqual([...rest[0]!.audio], [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  assert.equal(core.skipped, 0);
  assert.equal(core.late, 0);
});

test('av-sync inOrderQueue: when audio stops early, frames go on late in order, none skipped (latest-only would skip)', () => {
  const core = new AvSyncCore(opts);
  core.process(audio(0, 10), 0);
  const out = [];
  for (let i = 0; i < 6; i++) out.push(...core.process(frame(i, 20 + 10 * i), 0));
  // The queue holds 3: the 4th, 5th and 6th frames push the oldest out, late but not skipped.
  assert.deepEqual(out.map((w) => w.frame.index), [0, 1, 2]);
  out.push(...core.end());
  assert.deepEqual(out.map((w) => w.frame.index), [0, 1, 2, 3, 4, 5]);
  assert.ok(out.every((w) => w.audioLate === true));
  assert.equal(core.skipped, 0);

  const latestOnly = new AvSyncCore({ ...opts, inOrderQueue: undefined });
  latestOnly.process(audio(0, 10), 0);
  for (let i = 0; i < 6; i++) latestOnly.process(frame(i, 20 + 10 * i), 0);
  assert.equal(latestOnly.skipped, 5);
});

test('av-sync inOrderQueue: a complete newer frame releases the waiting ones first, in pts order', () => {
  const core = new AvSyncCore(opts);
  core.process(frame(0, 10), 0);
  core.process(audio(0, 30), 1);
  // frame 0 was released by the audio; frame 1 finds its audio at once.
  const out = core.process(frame(1, 20), 2);
  assert.deepEqual(out.map((w) => w.frame.index), [1]);
  assert.throws(() => new AvSyncCore({ ...opts, inOrderQueue: 0 }), /inOrderQueue/);
});
