import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, map, merge, toArray } from 'rxjs';
import { BatchRunner } from '../../src/inference/batch-runner.ts';
import { OrtLocalizer } from '../../src/inference/localizer.ts';
import { AudioCadence, audioCadence } from '../../src/pipeline/audio-cadence.ts';
import { avSync, type MediaEvent } from '../../src/pipeline/av-sync.ts';
import { StreamCounterRegistry } from '../../src/pipeline/counters.ts';
import { scheduleBatches, type SchedulerInput } from '../../src/pipeline/scheduler.ts';

/**
 * The pipeline as server.ts wires it, minus ffmpeg and sockets: per stream media events → avSync →
 * audioCadence; all streams merged → scheduleBatches → BatchRunner on the real fixture model.
 */
const FIXTURE = process.env.AVLOC_TEST_BUNDLE ?? fileURLToPath(new URL('../fixtures/avin-tiny-random/', import.meta.url));
let loc: OrtLocalizer;
before(async () => {
  loc = await OrtLocalizer.open(FIXTURE, { intraOpNumThreads: 1 });
});
after(async () => {
  await loc?.close();
});

/** n frames of 40 ms, each preceded by the audio up to its pts (so none waits in avSync). */
function media(streamId: string, n: number): MediaEvent[] {
  const { width, height } = loc.card.visual;
  const rate = loc.card.audio.sampleRate;
  const events: MediaEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push({ type: 'audio', chunk: { streamId, ptsMs: i * 40, sampleRate: rate, samples: new Float32Array((rate * 40) / 1000).fill(0.1) } });
    const frame = { streamId, index: i, ptsMs: (i + 1) * 40, decodedAtMs: 0, captureAtMs: 0, width, height, rgb: new Uint8Array(width * height * 3).fill(i) };
    events.push({ type: 'frame', frame });
  }
  return events;
}

test('pipeline: a flood of frames from two streams is analyzed latest-only and every frame is accounted for', async () => {
  const counters = new StreamCounterRegistry();
  const cadence = new AudioCadence();
  const runner = new BatchRunner(loc);
  const { sampleRate, windowSeconds } = loc.card.audio;
  const jobs$ = merge(
    ...['a', 'b'].map((id) => from(media(id, 20)).pipe(avSync({ sampleRate, windowSeconds, hasAudio: true, counters, audioWaitMs: 250 }), audioCadence(cadence))),
  ).pipe(map((job): SchedulerInput => ({ type: 'job', job })));
  const results = await lastValueFrom(
    jobs$.pipe(scheduleBatches((jobs) => runner.run(jobs), { counters, maxBatchSize: 4, maxWaitMs: 5, deadlineMs: 10_000 }), toArray()),
  );
  // All 40 frames arrive at once: a0 runs alone; a1..a19 and b0..b19 replace each other in their
  // slots; when a0 is done, a19 and b19 go out together.
  assert.deepEqual(results.map((r) => `${r.streamId}${r.frame.index}/${r.batchSize}`), ['a0/1', 'a19/2', 'b19/2']);
  for (const r of results) {
    assert.equal(r.heatmap.length, r.gridH * r.gridW);
    assert.ok(r.timings.inferenceMs > 0);
  }
  for (const id of ['a', 'b']) {
    const c = counters.get(id)!;
    assert.equal(c.decoded, 20);
    assert.equal(c.skipped + c.dropped + c.analyzed, c.decoded, `stream ${id}: every decoded frame is skipped, dropped or analyzed`);
  }
  assert.equal(counters.get('a')?.analyzed, 2);
  assert.equal(counters.get('b')?.analyzed, 1);
  runner.close();
});
