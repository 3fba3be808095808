import { Decoder } from '../../src/media/decoder.ts';
import { AudioRing } from '../../src/pipeline/audio-ring.ts';
import { nowMs } from '../../src/pipeline/types.ts';
import type { GraphRunner } from '../harness/graphs.ts';
import type { MediaFile } from '../harness/media-file.ts';
import { createLogger } from '../../src/log.ts';
import { summarize, slope, type Summary } from '../stats.ts';

/**
 * The reference the pipeline is built to beat: the same streams decoded by the service's own
 * Decoder, and the model called once per decoded frame (visual + audio, batch 1), serially, in
 * arrival order, with nothing skipped and nothing batched. When frames arrive faster than the
 * model runs, its FIFO grows and so does every frame's latency; that is the behaviour to show.
 * It reads the file with `-re` instead of going through RTMP (one hop fewer: only in its favour)
 * and measures to "result ready" rather than "received by a client" (again in its favour).
 */
export interface NaiveSample {
  readonly t: number;
  readonly done: number;
  readonly backlog: number;
  readonly latencyP50: number;
  readonly latencyMax: number;
}

export interface NaiveResult {
  readonly streams: number;
  readonly seconds: number;
  readonly arrivedPerS: number;
  readonly donePerS: number;
  readonly latencyFirst: Summary;
  readonly latencyLast: Summary;
  /** Growth of latency over the run, ms per second of wall time (0 = flat). */
  readonly latencySlopeMsPerS: number;
  readonly finalBacklog: number;
  readonly samples: readonly NaiveSample[];
  readonly stoppedEarly: string | null;
  readonly load: string;
}

interface Job {
  readonly rgb: Uint8Array;
  readonly audio: Float32Array;
  readonly decodedAtMs: number;
}

/** Keeps the backlog's memory bounded on a shared machine: ~0.5 MB a job with a 3 s window. */
const MAX_BACKLOG = 1500;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runNaive(
  runner: GraphRunner,
  media: MediaFile,
  ffmpeg: string,
  streams: number,
  seconds: number,
  sampleRate: number,
  windowSeconds: number,
  loadAverage: () => string,
): Promise<NaiveResult> {
  const queue: Job[] = [];
  const lat: Array<{ at: number; ms: number }> = [];
  let arrived = 0;
  let stoppedEarly: string | null = null;
  const logger = createLogger('naive', 'warn');
  const decoders: Decoder[] = [];
  for (let i = 0; i < streams; i++) {
    const d = new Decoder({
      source: { id: `naive-${i}`, ffmpegInput: ['-re', '-stream_loop', '-1', '-i', media.path], live: true },
      width: runner.width,
      height: runner.height,
      sampleRate,
      previewHeight: null,
      ffmpegPath: ffmpeg,
      logger,
    });
    const ring = new AudioRing({ sampleRate, windowSeconds });
    d.audio$.subscribe((c) => ring.push(c.ptsMs, c.samples));
    d.frames$.subscribe((f) => {
      arrived++;
      if (queue.length >= MAX_BACKLOG) {
        stoppedEarly ??= `backlog reached ${MAX_BACKLOG} frames`;
        return;
      }
      queue.push({ rgb: f.rgb, audio: ring.windowEndingAt(f.ptsMs), decodedAtMs: f.decodedAtMs });
    });
    decoders.push(d);
  }
  const start = nowMs();
  for (const d of decoders) d.start();
  const end = start + seconds * 1000;
  const samples: NaiveSample[] = [];
  let nextSample = start + 1000;
  let lastIdx = 0;
  try {
    while (nowMs() < end && stoppedEarly === null) {
      const job = queue.shift();
      if (!job) {
        await sleep(1);
      } else {
        await runner.visualOn(job.rgb);
        await runner.audioOn(job.audio);
        const now = nowMs();
        lat.push({ at: now, ms: now - job.decodedAtMs });
      }
      const now = nowMs();
      if (now >= nextSample) {
        const recent = lat.slice(lastIdx).map((l) => l.ms);
        lastIdx = lat.length;
        const s = summarize(recent);
        samples.push({ t: (now - start) / 1000, done: recent.length, backlog: queue.length, latencyP50: s.p50, latencyMax: s.max });
        nextSample += 1000;
      }
    }
  } finally {
    await Promise.all(decoders.map((d) => d.close()));
  }
  const stop = nowMs();
  const elapsed = (stop - start) / 1000;
  // Compare the ends of the run that had frames flowing (skip the first 2 s of decoder start-up).
  const edge = Math.max(2, Math.min(5, elapsed / 4)) * 1000;
  const first = lat.filter((l) => l.at >= start + 2000 && l.at < start + 2000 + edge).map((l) => l.ms);
  const last = lat.filter((l) => l.at >= stop - edge).map((l) => l.ms);
  return {
    streams,
    seconds: elapsed,
    arrivedPerS: arrived / elapsed,
    donePerS: lat.length / elapsed,
    latencyFirst: summarize(first),
    latencyLast: summarize(last),
    latencySlopeMsPerS: slope(lat.map((l) => (l.at - start) / 1000), lat.map((l) => l.ms)),
    finalBacklog: queue.length,
    samples,
    stoppedEarly,
    load: loadAverage(),
  };
}
