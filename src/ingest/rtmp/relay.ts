/**
 * The way back out to the service's own decoders: each live stream is played back from this
 * process over RTMP by its decoder's ffmpeg. Playing is for them only (their URL carries a
 * per-process key an outside player does not have), and what waits for a slow player is bounded.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log.ts';
import { kick, queryParam, type NmsSession } from './nms.ts';

export class DecoderRelay {
  /** Players cut off because more than the limit waited for them (see bound). */
  overflows = 0;
  /** The key our own decoders play with; an outside player is refused (see isOwnPlayer). */
  private readonly playKey = randomBytes(18).toString('base64url');

  constructor(
    private readonly log: Logger,
    /** Bytes a player may have queued in this process before it is cut off. */
    private readonly limitBytes: number,
  ) {}

  /**
   * The URL a decoder plays stream `id` from. Read back over loopback unless we listen on one
   * specific address only; always an address, never a name (the npm-shipped ffmpeg cannot resolve
   * one), taken from the bound socket.
   */
  playUrl(bound: AddressInfo | string | null | undefined, port: number, app: string, id: string): string {
    const h = typeof bound === 'object' && bound ? bound.address : '127.0.0.1';
    const playHost = h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '[::1]' : h.includes(':') ? `[${h}]` : h;
    return `rtmp://${playHost}:${port}/${app}/${id}?key=${this.playKey}`;
  }

  isOwnPlayer(s: NmsSession): boolean {
    const key = queryParam(s, 'key');
    if (typeof key !== 'string') return false;
    const a = Buffer.from(key);
    const b = Buffer.from(this.playKey);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * NMS writes every message to a player's socket with no regard for backpressure, so a decoder
   * that reads slower than the stream arrives (a loaded machine) would make the stream pile up in
   * this process and age without bound. Past limitBytes queued, the player is cut off instead
   * (counted): its decoder restarts and rejoins the live stream at the latest keyframe from NMS's
   * GOP cache — skip-to-live, the scheduler's policy applied one stage earlier.
   */
  bound(s: NmsSession): void {
    const send = s.sendBuffer;
    let cut = false;
    s.sendBuffer = (buffer: Buffer): void => {
      if (cut) return;
      const queued = s.socket?.writableLength ?? 0;
      if (queued > this.limitBytes) {
        cut = true;
        this.overflows++;
        this.log.warn('player fell behind the live stream; cut off to rejoin at the latest keyframe', {
          id: s.streamName,
          queuedBytes: queued,
          limitBytes: this.limitBytes,
        });
        kick(s);
        return;
      }
      send(buffer);
    };
  }
}
