import { availableParallelism } from 'node:os';
import { windowSamples } from './model-card.ts';
import { OrtLocalizer, type LocalizerOptions } from './localizer.ts';

/**
 * How many threads ONNX Runtime gets inside one operator, when the config leaves it to us
 * (model.intraOpThreads = 0): measured at start, per model, because the answer depends on it.
 *
 * Each candidate (1, 2, 4 … up to min(4, cores)) is opened and timed on one batch's work (a visual
 * batch and an audio window, after one untimed call). More threads are kept only when both hold:
 *  - they are at least `minSpeedup` times faster than the choice so far, alone; and
 *  - one frame costs the choice so far at least `minFrameMs` (a 30 fps frame period). A model
 *    cheaper than that serves many streams, whose decoders and pipeline then take the cores the
 *    extra threads would need, and a parallel operator waits for its preempted thread.
 * Measured on 2 cores (pool threads not spinning, localizer.ts): the default model ran a batch of
 * 4 + audio in 67 ms on one thread and 42 ms on two alone, but the service delivered 44.7 against
 * 39.6 heatmaps/s at 8 streams on one thread and two; the full-size AVIN-RN (77 ms a frame) ran
 * 1.9× faster alone on two threads, and the service 19.5 against 11.0 heatmaps/s at 1 stream.
 */
export interface ThreadChoice {
  readonly threads: number;
  /** Median milliseconds of one timed round, per candidate tried. */
  readonly msByThreads: ReadonlyArray<readonly [threads: number, ms: number]>;
}

/** 1, 2, 4 … up to min(4, cores): the thread counts worth trying on this machine. */
export function threadCandidates(cores = availableParallelism()): number[] {
  const out: number[] = [];
  for (let t = 1; t <= Math.min(4, Math.max(1, cores)); t *= 2) out.push(t);
  return out;
}

export interface ChooseThreadsOptions {
  readonly candidates?: readonly number[];
  /** Default 1.2. */
  readonly minSpeedup?: number;
  /** Milliseconds per frame below which one thread is kept. Default 1000 / 30. */
  readonly minFrameMs?: number;
  /** Timed rounds per candidate (median taken). Default 3. */
  readonly rounds?: number;
  /** Frames in the timed visual batch. Default 4. */
  readonly batch?: number;
  /** How a candidate is opened (tests replace it). Default OrtLocalizer.open. */
  readonly open?: (dir: string, opts: LocalizerOptions) => Promise<OrtLocalizer>;
  /** Milliseconds clock (tests replace it). Default performance.now. */
  readonly clock?: () => number;
}

/** Opens `dir` with the best intra-op thread count (see above); the other sessions are closed. */
export async function openWithBestThreads(
  dir: string,
  opts: LocalizerOptions,
  choose: ChooseThreadsOptions = {},
): Promise<{ localizer: OrtLocalizer; choice: ThreadChoice }> {
  const candidates = choose.candidates ?? threadCandidates();
  const minSpeedup = choose.minSpeedup ?? 1.2;
  const minFrameMs = choose.minFrameMs ?? 1000 / 30;
  const batch = Math.min(choose.batch ?? 4, opts.maxBatchSize ?? 16);
  const timed: Array<[number, number]> = [];
  let best: { localizer: OrtLocalizer; threads: number; ms: number } | null = null;
  for (const threads of candidates) {
    const localizer = await (choose.open ?? OrtLocalizer.open)(dir, { ...opts, intraOpNumThreads: threads });
    let ms: number;
    try {
      ms = await timeRound(localizer, choose.rounds ?? 3, batch, choose.clock ?? (() => performance.now()));
    } catch (err) {
      await localizer.close();
      await best?.localizer.close();
      throw err;
    }
    timed.push([threads, ms]);
    if (best === null || (best.ms >= ms * minSpeedup && best.ms / batch >= minFrameMs)) {
      await best?.localizer.close();
      best = { localizer, threads, ms };
    } else {
      await localizer.close();
    }
  }
  if (!best) throw new RangeError('openWithBestThreads needs at least one candidate');
  return { localizer: best.localizer, choice: { threads: best.threads, msByThreads: timed } };
}

async function timeRound(localizer: OrtLocalizer, rounds: number, batch: number, clock: () => number): Promise<number> {
  const { height, width } = localizer.card.visual;
  // Non-constant pixels and samples: some kernels take short cuts on zeros.
  const frame = Uint8Array.from({ length: height * width * 3 }, (_, i) => (i * 2654435761) >>> 24);
  const window = Float32Array.from({ length: windowSamples(localizer.card) }, (_, i) => Math.sin(i * 0.05) * 0.3);
  const frames = Array.from({ length: batch }, () => frame);
  const once = async () => {
    const t0 = clock();
    await localizer.embedVisual(frames);
    await localizer.embedAudio([window]);
    return clock() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
