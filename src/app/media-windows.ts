import { filter, map, merge, switchMap, take, type Observable } from 'rxjs';
import type { ModelCard } from '../inference/model-card.ts';
import type { Decoder } from '../media/decoder.ts';
import type { StreamInfo } from '../media/decoder/events.ts';
import { avSync, type MediaEvent } from '../pipeline/av-sync.ts';
import type { StreamCounterRegistry } from '../pipeline/counters.ts';
import type { AvWindow } from '../pipeline/types.ts';

/**
 * One decoder's frames and audio as AvWindows for the model described by `card`. Shared by the
 * live service and offline analysis, so both pair frames and audio exactly the same way.
 *
 * av-sync needs to know whether the stream has audio; the decoder announces that in its first
 * `info` event, which it emits before any frame (frames wait for their showinfo pts, which ffmpeg
 * prints after the input's stream list), so nothing is lost by subscribing to the media then.
 */
export interface MediaWindowsOptions {
  readonly card: ModelCard;
  readonly counters?: StreamCounterRegistry;
  /** Longest a frame waits for the audio up to its pts (wall ms). */
  readonly audioWaitMs: number;
  /** Offline: frames wait in order for their audio, never skipped (av-sync `inOrderQueue`). */
  readonly inOrderQueue?: number;
  /** Audio kept beyond one window, seconds (av-sync `marginSeconds`). */
  readonly audioMarginSeconds?: number;
  /** Called with the decoder's stream info, once, before the first window. */
  readonly onInfo?: (info: StreamInfo) => void;
}

export function mediaWindows(decoder: Decoder, opts: MediaWindowsOptions): Observable<AvWindow> {
  const media$: Observable<MediaEvent> = merge(
    decoder.frames$.pipe(map((frame): MediaEvent => ({ type: 'frame', frame }))),
    decoder.audio$.pipe(map((chunk): MediaEvent => ({ type: 'audio', chunk }))),
  );
  return decoder.events$.pipe(
    filter((ev) => ev.type === 'info'),
    take(1),
    switchMap((ev) => {
      opts.onInfo?.(ev.info);
      return media$.pipe(
        avSync({
          sampleRate: opts.card.audio.sampleRate,
          windowSeconds: opts.card.audio.windowSeconds,
          hasAudio: ev.info.audioDecoded,
          audioWaitMs: opts.audioWaitMs,
          ...(opts.inOrderQueue !== undefined ? { inOrderQueue: opts.inOrderQueue } : {}),
          ...(opts.audioMarginSeconds !== undefined ? { marginSeconds: opts.audioMarginSeconds } : {}),
          ...(opts.counters ? { counters: opts.counters } : {}),
        }),
      );
    }),
  );
}
