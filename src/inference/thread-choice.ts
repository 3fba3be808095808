import { availableParallelism } from 'node:os';
import { windowSamples } from './model-card.ts';
import { OrtLocalizer, type LocalizerOptions } from './localizer.ts';

/**
 * How many threads ONNX Runtime gets inside one operator, when the config leaves it to us
 * (model.intraOpThreads = 0): measured at start, per model, because the answer depends on it.
 *
 * Measured on a 2-core machine, alone: the default model (many small convolutions) ran a frame in
 * 15.7 ms on one thread and 22.7 ms on two — the threads spend more time meeting than working —
 * while the full-size AVIN-RN ran visual + audio in 150 ms on one thread and 82 ms on two. And
 * in the service the extra threads compete with the decoders and the event loop: AVIN-RN's 1.9×
 * alone became 1.25× there. So each candidate is opened and timed on one frame's work (a visual
 * batch and an audio window, after one untimed call), and more threads are taken only when they
 * are at least `minSpeedup` times faster than the choice so far.
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
  /** Timed rounds per candidate (median taken). Default 3. */
  readonly rounds?: number;
  /** Frames in the timed visual batch. Default 4. */
  readonly batch?: number;
  /** How a candidate is opened (tests replace it). Default OrtLocalizer.open. */
  readonly open?: (dir: string, opts: LocalizerOptions) => Promise<OrtLocalizer>;
}

/** Opens `dir` with the best intra-op thread count (see above); the other sessions are closed. */
export async function openWithBestThreads(
  dir: string,
  opts: LocalizerOptions,
  choose: ChooseThreadsOptions = {},
): Promise<{ localizer: OrtLocalizer; choice: ThreadChoice }> {
  const candidates = choose.candidates ?? threadCandidates();
  const minSpeedup = choose.minSpeedup ?? 1.2;
  const timed: Array<[number, number]> = [];
  let best: { localizer: OrtLocalizer; threads: number; ms: number } | null = null;
  for (const threads of candidates) {
    const localizer = await (choose.open ?? OrtLocalizer.open)(dir, { ...opts, intraOpNumThreads: threads });
    let ms: number;
    try {
      ms = await timeRound(localizer, choose.rounds ?? 3, Math.min(choose.batch ?? 4, opts.maxBatchSize ?? 16));
    } catch (err) {
      await localizer.close();
      await best?.localizer.close();
      throw err;
    }
    timed.push([threads, ms]);
    if (best === null || best.ms >= ms * minSpeedup) {
      await best?.localizer.close();
      best = { localizer, threads, ms };
    } else {
      await localizer.close();
    }
  }
  if (!best) throw new RangeError('openWithBestThreads needs at least one candidate');
  return { localizer: best.localizer, choice: { threads: best.threads, msByThreads: timed } };
}

async function timeRound(localizer: OrtLocalizer, rounds: number, batch: number): Promise<number> {
  const { height, width } = localizer.card.visual;
  // Non-constant pixels and samples: some kernels take short cuts on zeros.
  const frame = Uint8Array.from({ length: height * width * 3 }, (_, i) => (i * 2654435761) >>> 24);
  const window = Float32Array.from({ length: windowSamples(localizer.card) }, (_, i) => Math.sin(i * 0.05) * 0.3);
  const frames = Array.from({ length: batch }, () => frame);
  const once = async () => {
    const t0 = performance.now();
    await localizer.embedVisual(frames);
    await localizer.embedAudio([window]);
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
