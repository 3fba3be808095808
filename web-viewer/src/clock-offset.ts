/**
 * Estimates (server clock − page clock) from ping/pong round trips, NTP-style: assume the server
 * read its clock half-way through the round trip, and trust the sample with the shortest round trip
 * (least queueing) among the last few. Latency shown as "now − captureAtMs" needs this whenever the
 * viewer runs on another machine than the server; on the same host it stays ≈ 0.
 */
export class ClockOffset {
  private readonly samples: { rttMs: number; offsetMs: number }[] = [];

  constructor(private readonly keep = 8) {}

  /** One round trip: the page sent at `sentAtMs`, the server answered `serverTimeMs`, the page got it at `receivedAtMs`. */
  add(sentAtMs: number, serverTimeMs: number, receivedAtMs: number): void {
    const rttMs = receivedAtMs - sentAtMs;
    if (!(rttMs >= 0) || !Number.isFinite(serverTimeMs)) return;
    this.samples.push({ rttMs, offsetMs: serverTimeMs - (sentAtMs + rttMs / 2) });
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /**
   * Best current estimate in ms (0 before any sample). A round trip only bounds the offset to
   * [o − rtt/2, o + rtt/2]; we take the point of that interval nearest 0, so a viewer on the
   * server's own host (true offset 0) is not skewed by a pong that waited behind heatmaps.
   */
  get offsetMs(): number {
    let best: { rttMs: number; offsetMs: number } | undefined;
    for (const s of this.samples) if (!best || s.rttMs < best.rttMs) best = s;
    if (!best) return 0;
    const slack = best.rttMs / 2;
    return Math.sign(best.offsetMs) * Math.max(0, Math.abs(best.offsetMs) - slack);
  }

  /** Round trip of the sample the estimate rests on (its uncertainty is at most half of it). */
  get rttMs(): number | undefined {
    let best: number | undefined;
    for (const s of this.samples) if (best === undefined || s.rttMs < best) best = s.rttMs;
    return best;
  }
}
