/**
 * What a Decoder tells its consumer besides frames and audio: what the input holds, restarts,
 * errors and its end, and the counters it keeps. Errors travel here, never as Observable errors,
 * so one broken stream cannot tear down a merged pipeline (src/media/decoder.ts).
 */
import type { AvlocError } from '../../errors.ts';
import type { InputStreams } from '../stream-info.ts';

export interface StreamInfo extends InputStreams {
  /** Whether audio$ carries the source's audio (false: no audio track, or it could not be used). */
  readonly audioDecoded: boolean;
}

export type DecoderEvent =
  | { readonly type: 'info'; readonly streamId: string; readonly info: StreamInfo }
  | { readonly type: 'restart'; readonly streamId: string; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  /** The first frame after a restart: the stream is flowing again. */
  | { readonly type: 'resumed'; readonly streamId: string; readonly restarts: number }
  | { readonly type: 'error'; readonly streamId: string; readonly error: AvlocError; readonly fatal: boolean }
  | { readonly type: 'ended'; readonly streamId: string; readonly reason: DecoderEndReason };

export type DecoderEndReason = 'eof' | 'closed' | 'failed';

export interface DecoderCounters {
  frames: number;
  audioSamples: number;
  /** ffmpeg runs started after a failure (not counting the rerun that drops a missing audio track). */
  restarts: number;
  /** Frames or previews lost because a pipe ran ahead of the others (see FrameJoiner). */
  joinDropped: number;
  /** Preview JPEGs discarded as corrupt or oversized. */
  jpegDropped: number;
  /** Frames whose pts was not after the previous one and had to be nudged forward. */
  ptsFixed: number;
  /** Silence samples inserted to keep audio contiguous across restarts. */
  silencePadded: number;
}
