import { AvlocError } from '../errors.ts';
import { nowMs, type FrameJob, type FrameResult } from '../pipeline/types.ts';
import { computeHeatmap, findPeak, levelDb, soundingScore } from './heatmap.ts';
import type { Localizer } from './localizer.ts';

/**
 * Runs one scheduler batch through a Localizer and turns it into FrameResults:
 *  1. audio embeddings, batched, for the jobs with `refreshAudio` — and for any job whose stream
 *     has no embedding yet (it uses its own audio rather than none);
 *  2. the visual graph on all frames as one batch;
 *  3. heatmap + peak per frame, against its stream's latest embedding as of that frame
 *     (docs/ARCHITECTURE.md, rule 4).
 * Timings per result: waitMs = dispatch − enqueuedAt, inferenceMs = time in the ORT calls of this
 * batch, decodeMs = decodedAt − captureAt (0 when capture time is unknown).
 *
 * Bound: one embedding (C floats) per live stream, freed by `forget` when the stream ends; as a
 * backstop against a missed `forget`, at most `maxStreams` are kept (least recently used evicted,
 * counted in `evicted`). A stream forgotten while its batch is running is not re-added by it.
 */
export interface BatchRunnerOptions {
  /** Wall clock for timings. Default nowMs. */
  readonly clock?: () => number;
  /** Most stream embeddings kept. Default 256. */
  readonly maxStreams?: number;
}

export class BatchRunner {
  private readonly clock: () => number;
  private readonly maxStreams: number;
  /** Per stream: its latest audio embedding and the level (dBFS RMS) of the window it came from. */
  private readonly embeddings = new Map<string, Heard>();
  /** Streams in batches now running (count of batches), and those forgotten meanwhile. */
  private readonly active = new Map<string, number>();
  private readonly endedWhileActive = new Set<string>();
  private closed = false;
  /** Embeddings evicted by the maxStreams backstop. */
  evicted = 0;

  constructor(
    private readonly localizer: Localizer,
    opts: BatchRunnerOptions = {},
  ) {
    this.clock = opts.clock ?? nowMs;
    this.maxStreams = opts.maxStreams ?? 256;
  }

  /** Streams with an embedding held. */
  get streams(): number {
    return this.embeddings.size;
  }

  async run(jobs: readonly FrameJob[]): Promise<FrameResult[]> {
    if (this.closed) throw new AvlocError('CLOSED', 'batch runner is closed');
    if (jobs.length === 0) return [];
    const dispatchedAtMs = this.clock();
    const ids = jobs.map((j) => j.window.frame.streamId);
    for (const id of ids) this.active.set(id, (this.active.get(id) ?? 0) + 1);
    try {
      // The embeddings this batch will use, taken now: a stream that ends while the batch runs is
      // forgotten (its embedding deleted), and must not fail the other streams' results.
      const held = ids.map((id) => this.embeddings.get(id));
      // Audio for the refreshing jobs, and for a job of a stream with no embedding yet, neither
      // held nor refreshed earlier in this batch.
      const covered = new Set<string>();
      const needAudio = jobs.flatMap((j, i) => {
        const need = j.refreshAudio || (held[i] === undefined && !covered.has(ids[i]!));
        if (need) covered.add(ids[i]!);
        return need ? [i] : [];
      });
      const t0 = this.clock();
      const audio = await this.localizer.embedAudio(needAudio.map((i) => jobs[i]!.window.audio));
      const features = await this.localizer.embedVisual(jobs.map((j) => j.window.frame.rgb));
      const inferenceMs = this.clock() - t0;
      if (this.closed) throw new AvlocError('CLOSED', 'batch runner closed while this batch was running');

      const own = new Map<number, Heard>();
      needAudio.forEach((jobIndex, k) => own.set(jobIndex, { emb: audio[k]!, levelDb: levelDb(jobs[jobIndex]!.window.audio) }));
      // Store refreshed embeddings in batch order, so the newest job of a stream wins.
      for (const [i, heard] of own) this.store(ids[i]!, heard);

      const { channels, grid } = this.localizer.card.visual;
      const [gridH, gridW] = grid;
      // Each job uses its stream's embedding as of that job: its own refresh, else the latest one
      // earlier in this batch, else the one held at dispatch — never one made from a later job's
      // audio (offline analysis puts many frames of one stream in a batch; its results must not
      // depend on where batches happen to split).
      const current = new Map<string, Heard | undefined>();
      return jobs.map((job, i): FrameResult => {
        const id = ids[i]!;
        const heard = own.get(i) ?? (current.has(id) ? current.get(id) : held[i]);
        current.set(id, heard);
        if (!heard) throw new AvlocError('INTERNAL', `no audio embedding for stream ${id}`);
        const heatmap = computeHeatmap(features[i]!, heard.emb, channels, gridH, gridW);
        const peak = findPeak(heatmap, gridH, gridW);
        const frame = job.window.frame;
        return {
          streamId: id,
          frame,
          hasAudio: job.window.hasAudio,
          gridH,
          gridW,
          heatmap,
          peak,
          sounding: soundingScore(peak, heard.levelDb, this.localizer.card.sounding),
          timings: {
            decodeMs: frame.captureAtMs > 0 ? Math.max(0, frame.decodedAtMs - frame.captureAtMs) : 0,
            waitMs: Math.max(0, dispatchedAtMs - job.enqueuedAtMs),
            inferenceMs,
          },
          batchSize: jobs.length,
          doneAtMs: this.clock(),
        };
      });
    } finally {
      for (const id of ids) {
        const n = (this.active.get(id) ?? 1) - 1;
        if (n > 0) {
          this.active.set(id, n);
        } else {
          this.active.delete(id);
          this.endedWhileActive.delete(id);
        }
      }
    }
  }

  /** The stream ended: free its embedding (docs/ARCHITECTURE.md, rule 5). */
  forget(streamId: string): void {
    this.embeddings.delete(streamId);
    if (this.active.has(streamId)) this.endedWhileActive.add(streamId);
  }

  /** Idempotent; later runs and runs in flight reject with CLOSED. Does not close the Localizer (its owner does). */
  close(): void {
    this.closed = true;
    this.embeddings.clear();
  }

  private store(id: string, heard: Heard): void {
    if (this.closed || this.endedWhileActive.has(id)) return;
    // A copy, so a kept embedding does not pin the whole batch's output buffer.
    this.embeddings.delete(id);
    this.embeddings.set(id, { emb: heard.emb.slice(), levelDb: heard.levelDb });
    while (this.embeddings.size > this.maxStreams) {
      const oldest = this.embeddings.keys().next().value as string;
      this.embeddings.delete(oldest);
      this.evicted++;
    }
  }
}

/** What a stream's audio gave: its embedding, and how loud the window was. */
interface Heard {
  readonly emb: Float32Array;
  readonly levelDb: number;
}
