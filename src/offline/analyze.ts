import { resolve } from 'node:path';
import { filter } from 'rxjs';
import { mediaWindows } from '../app/media-windows.ts';
import { openLocalizer } from '../app/open-localizer.ts';
import type { Config } from '../config/schema.ts';
import { AvlocError, describeError } from '../errors.ts';
import { BatchRunner } from '../inference/batch-runner.ts';
import type { Logger } from '../log.ts';
import { Decoder } from '../media/decoder.ts';
import { resolveFfmpeg } from '../media/ffmpeg-path.ts';
import { urlForFfmpeg } from '../media/resolve-host.ts';
import { AudioCadence } from '../pipeline/audio-cadence.ts';
import { StreamCounterRegistry } from '../pipeline/counters.ts';
import { nowMs, type AvWindow, type FrameJob } from '../pipeline/types.ts';
import { BackpressureQueue } from './backpressure-queue.ts';
import { fileSource } from './file-source.ts';
import { FrameSlots } from './frame-slots.ts';
import { HeatmapPainter } from './heatmap-rgba.ts';
import { OverlayEncoder } from './overlay-encoder.ts';
import { probeInput } from './probe-input.ts';
import { ProgressReporter } from './progress.ts';
import { TempOutputs } from './temp-outputs.ts';
import { TrackWriter } from './track-writer.ts';

/**
 * `avloc analyze`: one file (or URL) through the same decoder, window assembly, audio cadence,
 * batch runner and heatmap encoder as the live service, but with no pacing and no skipping:
 *
 *   Decoder (live: false) ─▶ mediaWindows (av-sync, in order) ─▶ [--fps selection] ─▶ BackpressureQueue
 *        ▲ pause / resume ◀──────────────── high / low water ────────────────────────┘      │
 *        └ ffmpeg blocks on its pipes                     batches of ≤ maxBatch, one at a time ▼
 *                                            BatchRunner ─▶ JSON Lines track + OverlayEncoder (MP4)
 *
 * Every selected frame is analyzed, in order; memory is bounded by the queue's high water mark,
 * av-sync's in-order queue and the pipes. Outputs are written under temporary names and renamed at
 * the end; a failure or an abort (Ctrl-C) deletes them (TempOutputs).
 */
export interface AnalyzeOptions {
  readonly input: string;
  /** Overlay MP4 path; null for none. */
  readonly outPath: string | null;
  /** JSON Lines track path; null for none. */
  readonly jsonPath: string | null;
  /** Analyze N frames per second of media (pts-based); null: every frame. */
  readonly fps: number | null;
  readonly config: Pick<Config, 'model' | 'pipeline'>;
  /** Overlay video height (the source's when smaller; never upscaled). Default 720. */
  readonly overlayHeight?: number;
  readonly log: Logger;
  /** Aborts the run: outputs are deleted and the promise rejects with CLOSED. */
  readonly signal?: AbortSignal;
  /** Where the progress goes (default stderr); null for none. */
  readonly progress?: NodeJS.WriteStream | null;
  /** Plain progress line interval when not a TTY (ms). */
  readonly progressEveryMs?: number;
}

export interface AnalyzeSummary {
  readonly input: string;
  readonly outPath: string | null;
  readonly jsonPath: string | null;
  readonly model: string;
  readonly device: string;
  readonly durationMs: number | null;
  /** Frames the decoder delivered, and how many were analyzed (all, or the --fps selection). */
  readonly decoded: number;
  readonly analyzed: number;
  /** Frames written to the overlay video (at `rate`). */
  readonly overlayFrames: number;
  readonly rate: number;
  /** Whole run, probe and model loading included. */
  readonly wallMs: number;
  /** From the decoder's start to the last output written. */
  readonly analysisMs: number;
  /** Analyzed frames per second of `analysisMs` (decoding, inference and encoding, all at once). */
  readonly fps: number;
  readonly meanBatch: number;
  /** Windows whose audio was cut short (end of the input's audio). */
  readonly audioLate: number;
  /** Most windows held in the queue at once (bound check). */
  readonly maxQueued: number;
}

/** Frames av-sync may hold in order while their audio is on its way (≈ 0.5 s of 30 fps video). */
const AVSYNC_QUEUE = 16;
/** Offline a frame waits for its audio until it comes (or AVSYNC_QUEUE newer frames arrive). */
const AVSYNC_MAX_WAIT_MS = 60_000;
/**
 * Audio kept beyond one window. Offline, audio runs ahead of the frames waiting for it (pipe and
 * stream buffers, the in-order queue: a few seconds); with the live default of 1 s the start of a
 * window could already be overwritten, so the same file gave different heatmaps from run to run.
 */
const AUDIO_MARGIN_S = 10;

export async function analyzeFile(opts: AnalyzeOptions): Promise<AnalyzeSummary> {
  const t0 = performance.now();
  const { log, config } = opts;
  if (opts.outPath === null && opts.jsonPath === null) throw new AvlocError('CONFIG_INVALID', 'nothing to write: give --out and/or --json');
  if (opts.fps !== null && !(opts.fps > 0 && opts.fps <= 1000)) throw new AvlocError('CONFIG_INVALID', `--fps must be a number in (0, 1000], got ${opts.fps}`);
  const paths = [opts.outPath, opts.jsonPath].filter((p): p is string => p !== null).map((p) => resolve(p));
  if (paths.includes(resolve(opts.input)) || new Set(paths).size !== paths.length) {
    throw new AvlocError('CONFIG_INVALID', 'output paths must differ from each other and from the input');
  }
  const aborted = () => new AvlocError('CLOSED', 'analysis interrupted');
  if (opts.signal?.aborted) throw aborted();

  const ffmpegPath = resolveFfmpeg();
  // A URL's host goes to ffmpeg as an address when the binary cannot resolve names (resolve-host.ts).
  const source = fileSource(await urlForFfmpeg(opts.input, ffmpegPath));
  // Refuse unreadable, video-less and silent inputs before any output file exists.
  const probe = await probeInput(ffmpegPath, source.ffmpegInput, opts.input);
  const localizer = await openLocalizer(config, log);
  const { card } = localizer;
  const [gridH, gridW] = card.visual.grid;
  const maxBatch = config.pipeline.maxBatch;
  const rate = opts.fps ?? (probe.streams.fps && probe.streams.fps > 0 && probe.streams.fps < 1000 ? probe.streams.fps : 25);
  const slots = new FrameSlots(rate, opts.fps !== null ? 'floor' : 'round');
  const selector = opts.fps !== null ? new FrameSlots(opts.fps, 'floor') : null;

  const temp = new TempOutputs();
  let encoder: OverlayEncoder | null = null;
  let track: TrackWriter | null = null;
  const decoder = new Decoder({
    source,
    width: card.visual.width,
    height: card.visual.height,
    sampleRate: card.audio.sampleRate,
    previewHeight: opts.outPath !== null ? (opts.overlayHeight ?? 720) : null,
    previewQuality: 3,
    // Selection in ffmpeg spares unselected frames the scaling and the JPEG (≈ 2/3 of the decoder's
    // CPU at 720p); FrameSlots below still guards the choice, with the same floor rule.
    ...(opts.fps !== null ? { selectFps: opts.fps } : {}),
    ffmpegPath,
    logger: log.child('decoder'),
    startTimeoutMs: 30_000,
  });
  const counters = new StreamCounterRegistry();
  const streamCounters = counters.open(source.id);
  const queue = new BackpressureQueue<AvWindow>({
    highWater: 2 * maxBatch,
    lowWater: maxBatch,
    pause: () => decoder.pause(),
    resume: () => decoder.resume(),
  });
  const onAbort = () => queue.fail(aborted());
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // Interrupted while probing or loading the model: stop before the first output exists.
  if (opts.signal?.aborted) onAbort();
  const progress = opts.progress === null ? null : new ProgressReporter({ durationMs: probe.durationMs, ...(opts.progress ? { out: opts.progress } : {}), ...(opts.progressEveryMs ? { everyMs: opts.progressEveryMs } : {}) });
  const runner = new BatchRunner(localizer);
  const cadence = new AudioCadence({ everyMs: config.pipeline.audioCadenceMs });
  const painter = new HeatmapPainter();
  let audioLate = 0;
  let batches = 0;
  let lastPts = 0;
  let startedAt = performance.now();
  let analysisMs = 0;

  try {
    if (opts.outPath !== null) {
      encoder = new OverlayEncoder({ ffmpegPath, outPath: temp.reserve(opts.outPath), audioInput: source.ffmpegInput, rate, gridW, gridH });
    }
    if (opts.jsonPath !== null) track = new TrackWriter(temp.reserve(opts.jsonPath));

    const windows = mediaWindows(decoder, {
      card,
      counters,
      inOrderQueue: AVSYNC_QUEUE,
      audioWaitMs: AVSYNC_MAX_WAIT_MS,
      audioMarginSeconds: AUDIO_MARGIN_S,
      // The probe saw an audio stream; if ffmpeg still cannot decode it, say so rather than quietly analyze silence.
      onInfo: (info) => info.audioDecoded || log.warn(`${opts.input}: its audio cannot be decoded; analyzing with silence (heatmaps say hasAudio: false)`),
    }).pipe(
      filter((w) => selector === null || selector.select(w.frame.ptsMs)),
    );
    const sub = windows.subscribe({
      next: (w) => queue.push(w),
      error: (err: unknown) => queue.fail(err),
      complete: () => queue.end(),
    });
    // A fatal decoder error is announced before its outputs complete, so the queue fails, not ends.
    sub.add(decoder.events$.subscribe((ev) => ev.type === 'error' && ev.fatal && queue.fail(ev.error)));
    startedAt = performance.now();
    decoder.start();

    for (;;) {
      const batch = await queue.take(maxBatch);
      if (batch.length === 0) break;
      const jobs: FrameJob[] = batch.map((window) => ({
        window,
        refreshAudio: cadence.decide(source.id, window.frame.ptsMs, window.hasAudio),
        enqueuedAtMs: nowMs(),
      }));
      const results = await runner.run(jobs);
      if (opts.signal?.aborted) throw aborted();
      batches++;
      for (const [i, r] of results.entries()) {
        if (batch[i]?.audioLate) audioLate++;
        streamCounters.analyzed++;
        lastPts = r.frame.ptsMs;
        await track?.write(r, streamCounters, nowMs());
        if (encoder) {
          const times = slots.repeats(r.frame.ptsMs);
          if (times > 0 && r.frame.jpeg) await encoder.write(r.frame.jpeg, painter.paint(r.heatmap), times);
        }
        progress?.update(lastPts, streamCounters.analyzed);
      }
    }
    sub.unsubscribe();
    const end = await decoder.done;
    if (end.error) throw end.error;
    if (streamCounters.analyzed === 0) throw new AvlocError('DECODE_FAILED', `${opts.input}: no frame could be decoded`);
    await track?.close();
    await encoder?.finish();
    temp.commit();
    analysisMs = performance.now() - startedAt;
    progress?.finish(lastPts, streamCounters.analyzed);
  } catch (err) {
    progress?.interrupt();
    await encoder?.abort();
    track?.destroy();
    temp.discard();
    // Ctrl-C also reaches the ffmpeg children (same process group), whose deaths then look like
    // failures of their own: the interruption is the reason.
    if (opts.signal?.aborted) throw aborted();
    throw err instanceof AvlocError ? err : new AvlocError('INTERNAL', `analysis failed: ${describeError(err)}`, { cause: err });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await decoder.close();
    runner.close();
    await localizer.close();
  }
  const wallMs = performance.now() - t0;
  return {
    input: opts.input,
    outPath: opts.outPath === null ? null : resolve(opts.outPath),
    jsonPath: opts.jsonPath === null ? null : resolve(opts.jsonPath),
    model: card.name,
    device: localizer.device,
    durationMs: probe.durationMs,
    decoded: streamCounters.decoded,
    analyzed: streamCounters.analyzed,
    overlayFrames: encoder?.frames ?? 0,
    rate,
    wallMs,
    analysisMs,
    fps: analysisMs > 0 ? (streamCounters.analyzed * 1000) / analysisMs : 0,
    meanBatch: batches > 0 ? streamCounters.analyzed / batches : 0,
    audioLate,
    maxQueued: queue.maxLength,
  };
}
