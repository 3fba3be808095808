/**
 * What a RemoteLocalizer counts, per inference request (one per embedVisual / embedAudio call),
 * for metrics (avloc_remote_requests_total) and tests. Every request ends in exactly one of ok,
 * timedOut, refused, failed or closed; `dropped` batches are timedOut + refused. The batch's
 * frames are also counted `dropped` per stream by the scheduler, as any failed batch is.
 */
export interface RemoteStats {
  /** Answered with a valid output. */
  ok: number;
  /** Missed model.remote.timeoutMs: aborted and dropped (never retried). */
  timedOut: number;
  /** Refused before sending: model.remote.maxInFlight requests were already out. */
  refused: number;
  /** Unreachable, an HTTP error, or a response that is too large or does not fit the card. */
  failed: number;
  /** Aborted by close(). */
  closed: number;
  /** Second attempts after a refused connection (not requests of their own). */
  retried: number;
  /** Requests out now (≤ maxInFlight). */
  inFlight: number;
}

export function emptyRemoteStats(): RemoteStats {
  return { ok: 0, timedOut: 0, refused: 0, failed: 0, closed: 0, retried: 0, inFlight: 0 };
}
