import type { Observable } from 'rxjs';

/**
 * A publisher as the rest of the service sees it: an id, an address ffmpeg can read, and a way
 * to end it. Ingest knows nothing of models; media/ turns a Source into frames and audio.
 */
export type SourceKind = 'rtmp' | 'whip' | 'file';

export interface Source {
  /** Stream id: `cam1` for rtmp://HOST/live/cam1 or POST /whip/cam1. Unique among live sources. */
  readonly id: string;
  readonly kind: SourceKind;
  /** ffmpeg input arguments, ending with `-i <address>` (e.g. an rtmp:// URL or an .sdp file). */
  readonly ffmpegInput: readonly string[];
  /** Live sources are read as they arrive (low-latency probing); files may be read as fast as possible. */
  readonly live: boolean;
  /** Wall-clock ms when the publisher connected. */
  readonly startedAtMs: number;
  /** Disconnects the publisher and frees what ingest holds for it. Idempotent. */
  close(): Promise<void>;
}

export type SourceEvent =
  | { readonly type: 'started'; readonly source: Source }
  | { readonly type: 'ended'; readonly id: string; readonly reason: string };

/** Anything that accepts publishers (RTMP server, WHIP endpoint). */
export interface Ingest {
  readonly events$: Observable<SourceEvent>;
  start(): Promise<void>;
  close(): Promise<void>;
}
