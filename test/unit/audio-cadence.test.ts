import { test } from 'node:test';
import assert from 'node:assert/strict';
import { of, toArray, firstValueFrom } from 'rxjs';
import { AudioCadence, audioCadence } from '../../src/pipeline/audio-cadence.ts';
import type { AvWindow } from '../../src/pipeline/types.ts';

test('audio cadence: the first job refreshes, then one every everyMs of media time, per stream', () => {
  const c = new AudioCadence({ everyMs: 250 });
  const s1 = [0, 40, 200, 249, 250, 260, 499, 500].map((t) => c.decide('s1', t));
  assert.deepEqual(s1, [true, false, false, false, true, false, false, true]);
  assert.equal(c.decide('s2', 260), true, 'another stream has its own cadence');
});

test('audio cadence refreshes when pts goes backwards (decoder restart) and after forget', () => {
  const c = new AudioCadence({ everyMs: 250 });
  c.decide('s1', 1000);
  assert.equal(c.decide('s1', 10), true);
  assert.equal(c.decide('s1', 20), false);
  c.forget('s1');
  assert.equal(c.size, 0);
  assert.equal(c.decide('s1', 30), true);
});

test('audio cadence: a stream without audio refreshes only once (its window is always silence)', () => {
  const c = new AudioCadence({ everyMs: 250 });
  assert.deepEqual([0, 300, 600, 0].map((t) => c.decide('s1', t, false)), [true, false, false, false]);
});

test('audioCadence operator turns windows into jobs stamped by the clock', async () => {
  const w = (ptsMs: number): AvWindow => ({
    frame: { streamId: 's1', index: 0, ptsMs, decodedAtMs: 0, captureAtMs: 0, width: 1, height: 1, rgb: new Uint8Array(3) },
    audio: new Float32Array(1),
    hasAudio: true,
  });
  const jobs = await firstValueFrom(of(w(0), w(100), w(300)).pipe(audioCadence(new AudioCadence(), () => 42), toArray()));
  assert.deepEqual(jobs.map((j) => [j.refreshAudio, j.enqueuedAtMs]), [[true, 42], [false, 42], [true, 42]]);
});
