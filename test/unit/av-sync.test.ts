import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { AV_SYNC_OPTS, audioEvent, frameEvent } from '../support/media-events.ts';
import { AvSyncCore, avSync, type MediaEvent } from '../../src/pipeline/av-sync.ts';
import { StreamCounterRegistry } from '../../src/pipeline/counters.ts';
import type { AvWindow } from '../../src/pipeline/types.ts';

const opts = { ...AV_SYNC_OPTS };
const frame = frameEvent;
const audio = audioEvent;

test('av-sync: a frame whose audio has arrived is emitted at once with the window ending at its pts', () => {
  const core = new AvSyncCore(opts);
  assert.deepEqual(core.process(audio(0, 20), 0), []);
  const [w] = core.process(frame(0, 15), 0);
  assert.equal(w?.frame.index, 0);
  assert.equal(w?.audioLate, undefined);
  assert.deepEqual([...w!.audio], Array(10).fill(1));
});

test('av-sync: a frame ahead of its audio waits and is released when the audio reaches its pts', () => {
  const core = new AvSyncCore(opts);
  core.process(audio(0, 10), 0);
  assert.deepEqual(core.process(frame(0, 15), 1), []);
  assert.deepEqual(core.process(audio(10, 4, 2), 2), []); // up to 14 ms: not yet
  const [w] = core.process(audio(14, 4, 3), 3);
  assert.equal(w?.frame.index, 0);
  assert.deepEqual([...w!.audio], [1, 1, 1, 1, 1, 2, 2, 2, 2, 3]);
  assert.equal(w?.audioLate, undefined);
});

test('av-sync keeps at most one pending frame: a newer frame replaces it and counts a skip', () => {
  const core = new AvSyncCore(opts);
  core.process(frame(0, 5), 0);
  core.process(frame(1, 10), 1);
  assert.equal(core.skipped, 1);
  const out = core.process(audio(0, 12), 2);
  assert.deepEqual(out.map((w) => w.frame.index), [1]);
});

test('av-sync: after maxWaitMs the pending frame goes on with zeros where audio is missing, flagged late', () => {
  const core = new AvSyncCore(opts);
  core.process(audio(0, 8), 0);
  core.process(frame(0, 10), 100);
  assert.equal(core.nextWakeAtMs(), 150);
  assert.deepEqual(core.tick(149), []);
  const [w] = core.tick(150);
  assert.equal(w?.audioLate, true);
  assert.deepEqual([...w!.audio], [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.equal(core.late, 1);
  assert.equal(core.nextWakeAtMs(), undefined);
});

test('av-sync: a stream without audio emits every frame at once with silence', () => {
  const core = new AvSyncCore({ ...opts, hasAudio: false });
  const [w] = core.process(frame(0, 1000), 0);
  assert.equal(w?.hasAudio, false);
  assert.equal(w?.audio.length, 10);
  assert.ok(w?.audio.every((s) => s === 0));
});

test('av-sync rejects audio at a rate other than the model rate with DECODE_FAILED', () => {
  const core = new AvSyncCore(opts);
  const bad: MediaEvent = { type: 'audio', chunk: { streamId: 's1', ptsMs: 0, sampleRate: 48000, samples: new Float32Array(4) } };
  assert.throws(() => core.process(bad, 0), { code: 'DECODE_FAILED', message: /48000 Hz.*1000 Hz/ });
});

test('avSync operator: releases by audio, by max wait (virtual time) and on completion; counts decoded and skipped', () => {
  const counters = new StreamCounterRegistry();
  new TestScheduler((a, e) => assert.deepEqual(a, e)).run(({ hot, expectObservable }) => {
    // f0 (pts 5) waits for audio, which comes at 2; f1 (pts 30) waits and times out at 3 + 50;
    // f2 (pts 60) is pending at completion and is flushed.
    const input = hot('a-bf 50ms g|', {
      a: frame(0, 5), b: audio(0, 10), f: frame(1, 30), g: frame(2, 60),
    });
    const out = input.pipe(
      avSync({ ...opts, counters }),
      map((w: AvWindow) => `${w.frame.index}${w.audioLate ? 'L' : ''}`),
    );
    expectObservable(out).toBe('--a 50ms b-(c|)', { a: '0', b: '1L', c: '2L' });
  });
  assert.deepEqual(counters.get('s1'), { decoded: 3, skipped: 0, dropped: 0, analyzed: 0 });
});

test('av-sync: audio-state off releases the waiting frame at once and later frames get silence', () => {
  const core = new AvSyncCore(opts);
  core.process(audio(0, 5), 0);
  assert.deepEqual(core.process(frame(0, 10), 0), []);
  const [w] = core.process({ type: 'audio-state', hasAudio: false }, 1);
  assert.equal(w?.frame.index, 0);
  assert.equal(w?.audioLate, true);
  const [s] = core.process(frame(1, 20), 2);
  assert.equal(s?.hasAudio, false);
  assert.equal(core.nextWakeAtMs(), undefined);
});

test('avSync operator: bad audio is reported once and dropped, the stream goes on', () => {
  const errors: unknown[] = [];
  new TestScheduler((a, e) => assert.deepEqual(a, e)).run(({ hot, expectObservable }) => {
    const bad: MediaEvent = { type: 'audio', chunk: { streamId: 's1', ptsMs: 0, sampleRate: 8000, samples: new Float32Array(4) } };
    const input = hot('xxa-f|', { x: bad, a: audio(0, 20), f: frame(0, 10) });
    const out = input.pipe(avSync({ ...opts, onError: (e) => errors.push(e) }), map((w: AvWindow) => w.frame.index));
    expectObservable(out).toBe('----a|', { a: 0 });
  });
  assert.equal(errors.length, 1);
});
