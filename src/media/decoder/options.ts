/** How a Decoder is asked for (src/media/decoder.ts): the source, the model's sizes, previews, restarts. */
import type { Logger } from '../../log.ts';
import type { Source } from '../source.ts';

export interface RestartPolicy {
  /** Consecutive failed runs tolerated before giving up (a run that produced frames resets it). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RESTART: RestartPolicy = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 5000 };

export interface DecoderOptions {
  readonly source: Pick<Source, 'id' | 'ffmpegInput' | 'live'>;
  /** Model input size (model.json visual.width/height). */
  readonly width: number;
  readonly height: number;
  /** Model audio rate (model.json audio.sampleRate). */
  readonly sampleRate: number;
  /** JPEG previews at this height (aspect kept); omit or null for none. */
  readonly previewHeight?: number | null;
  readonly previewQuality?: number;
  /** At most this many previews per second (live); omit for a preview with every frame. */
  readonly previewFps?: number;
  /** Deliver only the first frame of each 1/N s slot (offline `--fps N`, live pipeline.maxFpsPerStream; see decoder-args). */
  readonly selectFps?: number;
  /**
   * Live: decode behind an analysis gate whose rate setAnalysisFps() changes while ffmpeg runs
   * (src/media/analysis-gate.ts). Ignored for files. Default false.
   */
  readonly gate?: boolean;
  /** Audio chunk length (default 20 ms). */
  readonly audioChunkMs?: number;
  readonly ffmpegPath?: string;
  readonly logger?: Logger;
  /** Time for ffmpeg to open the input and produce its first byte (default 15 s live, 10 s file). */
  readonly startTimeoutMs?: number;
  /** Restarts apply to live sources only; a file that ends or fails is done. */
  readonly restart?: Partial<RestartPolicy>;
  readonly killGraceMs?: number;
}
