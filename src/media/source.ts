import type { Observable } from 'rxjs';

/**
 * A publisher as the rest of the service sees it: an id, an address ffmpeg can read, and a way
 * to end it. ingest/ makes Sources (RTMP, WHIP), offline/ makes one of a file, media/ turns one
 * into frames and audio; the types live here so that none of them imports ingest/.
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
  /** Asks the publisher for a keyframe now (WHIP: an RTCP PLI), so decoding can start at once. */
  requestKeyframe?(): void;
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

/** What a door hears back when it claims a stream id: a refusal, or the claim and how to give it back. */
export type ClaimOutcome =
  | { readonly refused: string }
  /** `release` gives the id back when the publisher never became a stream (idempotent). */
  | { readonly refused: null; release(): void };

/**
 * Stream ids held across several nodes (cluster mode, src/cluster/). A door claims the id of a new
 * publisher before it allocates anything for it; a refusal is answered like a duplicate local id.
 * Once the stream has started, the service gives the claim back when the stream ends.
 */
export interface StreamClaims {
  claim(id: string, kind: SourceKind): Promise<ClaimOutcome>;
}
