/**
 * The data that flows between the service's stages. Every module codes against these types;
 * change them only with care (they are the seams between ingest/media, pipeline, inference, publish).
 *
 * Time: `*PtsMs` values are on the stream's media timeline in milliseconds (0 = the start of the
 * decoder's output, the same origin for audio and video). `*AtMs` values are wall-clock times in
 * milliseconds from `nowMs()` (epoch-based, sub-millisecond precision), comparable across processes.
 */

/** Wall-clock milliseconds since the epoch with sub-millisecond precision. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One decoded video frame, already scaled to the model's input size (rgb24, row-major, HWC). */
export interface VideoFrame {
  readonly streamId: string;
  /** 0-based index of this frame in the stream's decoded output (keeps counting across decoder restarts). */
  readonly index: number;
  /** Presentation time on the stream's media timeline. */
  readonly ptsMs: number;
  /** When the decoder handed this frame over. */
  readonly decodedAtMs: number;
  /** Estimated wall-clock capture time: the wall time of the stream's first frame + (ptsMs - its ptsMs). */
  readonly captureAtMs: number;
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes, exactly what ffmpeg writes with -pix_fmt rgb24. */
  readonly rgb: Uint8Array;
  /** The same frame as a JPEG at preview size, when previews are enabled for the stream. */
  readonly jpeg?: Uint8Array;
}

/** A run of decoded mono audio samples (f32le at the model's rate), contiguous on the media timeline. */
export interface AudioChunk {
  readonly streamId: string;
  /** Presentation time of the first sample. */
  readonly ptsMs: number;
  readonly sampleRate: number;
  readonly samples: Float32Array;
}

/** A video frame paired with the audio window that ends at its presentation time (docs/MODEL_CONTRACT.md). */
export interface AvWindow {
  readonly frame: VideoFrame;
  /** Exactly windowSeconds * sampleRate samples ending at frame.ptsMs, zero-padded on the left. */
  readonly audio: Float32Array;
  /** False when the stream has no audio track: `audio` is silence and every message says so. */
  readonly hasAudio: boolean;
  /**
   * True when the frame waited its maximum for audio and went on without it: the window's tail
   * (audio not yet arrived) is zeros. Absent or false when the window is complete.
   */
  readonly audioLate?: boolean;
}

/** A window waiting for inference, as the scheduler sees it. */
export interface FrameJob {
  readonly window: AvWindow;
  /** True when this job's audio should refresh the stream's audio embedding (the audio cadence). */
  readonly refreshAudio: boolean;
  /** When the job entered the scheduler. */
  readonly enqueuedAtMs: number;
}

export interface Peak {
  /** Grid cell of the maximum. */
  readonly x: number;
  readonly y: number;
  /** Centre of that cell in [0, 1] image coordinates. */
  readonly u: number;
  readonly v: number;
  readonly value: number;
}

export interface StageTimings {
  /** Decoder latency: decodedAtMs - captureAtMs (0 when unknown). */
  readonly decodeMs: number;
  /** Time spent waiting in the scheduler (batching, slot). */
  readonly waitMs: number;
  /** Time spent in the ONNX Runtime calls for this frame's batch. */
  readonly inferenceMs: number;
}

/** One analyzed frame: what the Localizer produces and the Hub publishes. */
export interface FrameResult {
  readonly streamId: string;
  readonly frame: VideoFrame;
  readonly hasAudio: boolean;
  /** Grid height and width (model.json visual.grid). */
  readonly gridH: number;
  readonly gridW: number;
  /** Cosine similarities in [-1, 1], row-major gridH * gridW (docs/MODEL_CONTRACT.md "Heatmap"). */
  readonly heatmap: Float32Array;
  readonly peak: Peak;
  /** P(something in view is sounding), calibrated by the model card; null without calibration. */
  readonly sounding: number | null;
  readonly timings: StageTimings;
  /** How many frames went into the inference batch that produced this result. */
  readonly batchSize: number;
  /** When the result was ready to publish. */
  readonly doneAtMs: number;
}

/** Per-stream counters the pipeline keeps; published in every heatmap message and in metrics. */
export interface StreamCounters {
  /** Frames decoded. */
  decoded: number;
  /** Frames replaced in the stream's latest-only slot before inference took them. */
  skipped: number;
  /** Frames that waited past the deadline and were dropped as stale. */
  dropped: number;
  /** Frames analyzed. */
  analyzed: number;
}
