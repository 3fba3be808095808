/**
 * The RTMP publishers now live, each as the Source the rest of the service sees, and how one
 * ends: once only, whoever notices first (its socket closing, the service closing the Source,
 * the ingest closing), taking the players of its path (our decoders' ffmpeg) with it.
 */
import type net from 'node:net';
import type { Logger } from '../../log.ts';
import { nowMs } from '../../pipeline/types.ts';
import type { Source } from '../../media/source.ts';
import { kick, type NmsBroadcast, type NmsSession } from './nms.ts';

export interface Publisher {
  readonly source: Source;
  readonly session: NmsSession;
  /** Why it ends, when something other than a plain disconnect ends it (told in `ended`). */
  closedBy: string | null;
}

export class Publishers {
  private readonly byId = new Map<string, Publisher>();

  constructor(
    private readonly log: Logger,
    /** NMS's broadcasts by path (undefined before the ingest started). */
    private readonly broadcasts: () => Map<string, NmsBroadcast> | undefined,
    /** Told once per publisher, after it is gone. */
    private readonly ended: (id: string, reason: string) => void,
  ) {}

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Whether the session is one of the live publishers. */
  isPublisher(s: NmsSession): boolean {
    return [...this.byId.values()].some((p) => p.session === s);
  }

  bySocket(socket: net.Socket): Publisher | undefined {
    return [...this.byId.values()].find((x) => x.session.socket === socket);
  }

  sources(): Source[] {
    return [...this.byId.values()].map((p) => p.source);
  }

  all(): Array<[string, Publisher]> {
    return [...this.byId];
  }

  /** Lists an accepted publisher as a Source whose decoders play `url`; it ends when its socket closes. */
  add(s: NmsSession, id: string, url: string): Publisher {
    const publisher: Publisher = {
      session: s,
      closedBy: null,
      source: {
        id,
        kind: 'rtmp',
        live: true,
        // -rtmp_live live: play the live stream, never a recorded one of the same name.
        ffmpegInput: ['-rtmp_live', 'live', '-i', url],
        startedAtMs: nowMs(),
        close: () => this.closeSource(id, publisher),
      },
    };
    this.byId.set(id, publisher);
    s.socket?.once('close', () => this.end(id, publisher, publisher.closedBy ?? 'publisher disconnected'));
    return publisher;
  }

  /** Tells `ended` once per publisher and drops the players of its path (our decoders' ffmpeg). */
  end(id: string, p: Publisher, reason: string): void {
    if (this.byId.get(id) !== p) return;
    this.byId.delete(id);
    p.closedBy ??= reason;
    kick(p.session);
    const broadcast = this.broadcasts()?.get(p.session.streamPath);
    // NMS keeps players attached across publish gaps; an ended stream should not leave them hanging.
    if (broadcast && (broadcast.publisher === null || broadcast.publisher === p.session)) {
      for (const sub of broadcast.subscribers.values()) kick(sub);
    }
    this.log.info('RTMP publisher ended', { id, reason });
    this.ended(id, reason);
  }

  private async closeSource(id: string, p: Publisher): Promise<void> {
    if (this.byId.get(id) === p) {
      p.closedBy ??= 'closed by the service';
      const closed = p.session.socket && !p.session.socket.destroyed ? new Promise<void>((r) => p.session.socket?.once('close', () => r())) : null;
      kick(p.session);
      await closed;
      this.end(id, p, p.closedBy);
    }
  }
}
