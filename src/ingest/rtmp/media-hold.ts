/**
 * The gate on each publishing session's media, and the hold behind it while its token (and, in
 * cluster mode, its claim) is checked: nothing is started for a publisher before it is admitted,
 * yet the media it sent meanwhile (metadata, sequence headers, a keyframe) is not lost. Held
 * media is bounded (PENDING_LIMITS) and replayed once the publisher is accepted.
 */
import type { NmsSession } from './nms.ts';

/** Media a publisher may send while its token is being checked (metadata, sequence headers, a keyframe). */
export const PENDING_LIMITS = { packets: 256, bytes: 8 * 1024 * 1024 } as const;

export class MediaHold {
  /** Publishers whose token is being checked, with the media they sent meanwhile. */
  private readonly pending = new WeakMap<object, { packets: unknown[]; bytes: number }>();
  /** The broadcast's packet handler of each gated session. */
  private readonly forwards = new WeakMap<object, (packet: unknown) => void>();

  /**
   * NMS hands every media message a publishing session parses to its path's broadcast, whether or
   * not that session is the path's publisher. Gate them: only messages for which `passes()` holds
   * (the session is the broadcast's own publisher, and not refused) get through, so a refused or
   * duplicate publisher cannot put one frame into a live stream, not even from the bytes that
   * arrived together with its publish command. While the session is held, what passes is kept
   * instead; past PENDING_LIMITS `overflow()` is called (the ingest refuses the publisher).
   */
  gate(s: NmsSession, passes: () => boolean, overflow: () => void): void {
    const parser = s.rtmp;
    if (!parser) return;
    const forward = parser.onPacketCallback;
    this.forwards.set(s, forward);
    parser.onPacketCallback = (packet: unknown): void => {
      if (!passes()) return;
      const held = this.pending.get(s);
      if (!held) {
        forward(packet);
        return;
      }
      held.packets.push(packet);
      held.bytes += (packet as { data?: Buffer }).data?.length ?? 0;
      if (held.packets.length > PENDING_LIMITS.packets || held.bytes > PENDING_LIMITS.bytes) overflow();
    };
  }

  /** Starts holding the session's media (its admission is under way). */
  hold(s: NmsSession): void {
    this.pending.set(s, { packets: [], bytes: 0 });
  }

  isHeld(s: NmsSession): boolean {
    return this.pending.has(s);
  }

  /** Ends the hold, discarding what it held (the publisher was refused). */
  drop(s: NmsSession): void {
    this.pending.delete(s);
  }

  /** Ends the hold; returns what it held, for replay() once the publisher is set up. */
  take(s: NmsSession): readonly unknown[] | undefined {
    const held = this.pending.get(s);
    this.pending.delete(s);
    return held?.packets;
  }

  /** Hands held media on to the broadcast, in the order it arrived. */
  replay(s: NmsSession, packets: readonly unknown[] | undefined): void {
    const forward = this.forwards.get(s);
    for (const packet of packets ?? []) forward?.(packet);
  }
}
