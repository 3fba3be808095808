import { mode, summarize, type Summary } from '../stats.ts';
import type { Received } from '../harness/subscriber.ts';

/**
 * What one measurement window of received heatmaps says: delivered rate, batch sizes, latencies
 * and the per-stream counters' deltas. Pure, so it is unit-tested without processes.
 */
export interface WindowStats {
  readonly messages: number;
  readonly seconds: number;
  readonly heatmapsPerS: number;
  readonly streamsSeen: number;
  readonly batchMean: number;
  readonly batchMode: number;
  /** Decoder output (decodedAtMs) → message received. */
  readonly decodedToRecvMs: Summary;
  /** Estimated capture (captureAtMs, the service's wall-clock anchor of pts) → message received. */
  readonly captureToRecvMs: Summary;
  /** Publisher send time (its send origin t0 + pts, see Publisher.sendOriginMs) → received. */
  readonly publisherToRecvMs: Summary | null;
  readonly inferenceMs: Summary;
  readonly waitMs: Summary;
  /** Counter deltas over the window, summed over streams. */
  readonly decoded: number;
  readonly skipped: number;
  readonly dropped: number;
  readonly analyzed: number;
  readonly queueDropped: number;
  /** skipped / decoded over the window (latest-only slot replacements). */
  readonly skippedFraction: number;
  /** (skipped + dropped) / decoded: frames that will never be analyzed (slot replacements and stale drops). */
  readonly notAnalyzedFraction: number;
}

/**
 * `sendOriginMs`: per stream, the wall time at which the publisher sent pts 0. It relates the
 * service's pts to the publisher's only because the decoder's timeline starts at the publisher's
 * first packet: the synthetic file has a single keyframe per 10 s loop, so a decoder that joins
 * within the first 10 s is handed the stream from its start (the RTMP server's GOP cache).
 */
export function windowStats(msgs: readonly Received[], seconds: number, sendOriginMs?: ReadonlyMap<string, number>): WindowStats {
  const byStream = new Map<string, { first: Received; last: Received }>();
  const dec: number[] = [];
  const cap: number[] = [];
  const pub: number[] = [];
  const inf: number[] = [];
  const wait: number[] = [];
  const batches: number[] = [];
  let batchSum = 0;
  for (const m of msgs) {
    const s = byStream.get(m.streamId);
    if (!s) byStream.set(m.streamId, { first: m, last: m });
    else s.last = m;
    dec.push(m.recvAtMs - m.decodedAtMs);
    cap.push(m.recvAtMs - m.captureAtMs);
    const t0 = sendOriginMs?.get(m.streamId);
    if (t0 !== undefined) pub.push(m.recvAtMs - (t0 + m.ptsMs));
    inf.push(m.inferenceMs);
    wait.push(m.waitMs);
    batches.push(m.batchSize);
    batchSum += m.batchSize;
  }
  let decoded = 0;
  let skipped = 0;
  let dropped = 0;
  let analyzed = 0;
  let queueDropped = 0;
  for (const { first, last } of byStream.values()) {
    decoded += last.decoded - first.decoded;
    skipped += last.skipped - first.skipped;
    dropped += last.dropped - first.dropped;
    analyzed += last.analyzed - first.analyzed;
    queueDropped += last.queueDropped - first.queueDropped;
  }
  return {
    messages: msgs.length,
    seconds,
    heatmapsPerS: msgs.length / seconds,
    streamsSeen: byStream.size,
    batchMean: msgs.length > 0 ? batchSum / msgs.length : Number.NaN,
    batchMode: mode(batches),
    decodedToRecvMs: summarize(dec),
    captureToRecvMs: summarize(cap),
    publisherToRecvMs: pub.length > 0 ? summarize(pub) : null,
    inferenceMs: summarize(inf),
    waitMs: summarize(wait),
    decoded,
    skipped,
    dropped,
    analyzed,
    queueDropped,
    skippedFraction: decoded > 0 ? skipped / decoded : Number.NaN,
    // Not decoded - analyzed: frames in flight at the window's edges would blur that difference.
    notAnalyzedFraction: decoded > 0 ? (skipped + dropped) / decoded : Number.NaN,
  };
}
