/**
 * One connected WebSocket client as the hub keeps it: its socket, its bounded queue, and what it
 * is subscribed to. The subscription rules live here, next to the sets they change, so the hub
 * itself only says when to apply them and whom to tell.
 */
import { AvlocError } from '../../errors.ts';
import { ClientQueue } from '../client-queue.ts';
import type { HeatmapFormat, StreamSelector } from '../../wire/protocol.ts';

/** The part of a `ws` WebSocket the hub uses (so tests can pass a fake). */
export interface HubSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array | string, options: { binary: boolean; fin: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
}

/**
 * Stream ids one connection may name (subscribed, or excluded from `*`). One message carries at
 * most 256, but they add up; past this a subscribe or unsubscribe is refused with an error and
 * changes nothing, so a client cannot grow the server's memory by naming ids.
 */
export const MAX_NAMED_STREAMS = 1024;

export interface ClientStats {
  readonly id: number;
  readonly queuedMessages: number;
  readonly queuedHeatmaps: number;
  readonly queuedControls: number;
  readonly queuedBytes: number;
  readonly bufferedAmount: number;
  readonly queueDropped: number;
  readonly heatmapsSent: number;
}

/** A connected client as the ws server holds it. */
export interface HubClient {
  readonly id: number;
  stats(): ClientStats;
}

export class Session implements HubClient {
  readonly queue: ClientQueue;
  all = false;
  /** Streams named explicitly; while `all`, the ones unsubscribed by name. */
  readonly named = new Set<string>();
  readonly excluded = new Set<string>();
  format: HeatmapFormat = 'binary';
  preview = false;
  queueDropped = 0;
  heatmapsSent = 0;
  /** Writes handed to the socket whose send callback has not run yet (see fan-out.ts). */
  inflight = 0;
  retry: ReturnType<typeof setTimeout> | undefined;
  closed = false;

  constructor(
    readonly id: number,
    readonly socket: HubSocket,
    heatmapLimit: number,
    controlLimit: number,
    /** The streams this client's token lets it see at all (`*` included). */
    readonly canSee: (streamId: string) => boolean,
  ) {
    this.queue = new ClientQueue(heatmapLimit, controlLimit);
  }

  wants(streamId: string): boolean {
    if (!this.canSee(streamId)) return false;
    return this.all ? !this.excluded.has(streamId) : this.named.has(streamId);
  }

  /**
   * Adds streams to the subscription. Throws, changing nothing, when the token does not grant one
   * of them or the named ids would pass MAX_NAMED_STREAMS.
   */
  add(streams: StreamSelector): void {
    if (streams === '*') {
      this.all = true;
      this.excluded.clear();
      return;
    }
    const denied = streams.filter((id) => !this.canSee(id));
    if (denied.length > 0) {
      throw new AvlocError('FORBIDDEN', `the token does not grant subscribing to ${denied.slice(0, 3).map((id) => `"${id}"`).join(', ')}${denied.length > 3 ? ` and ${denied.length - 3} more` : ''}`);
    }
    const fresh = streams.filter((id) => !this.named.has(id)).length;
    if (this.named.size + this.excluded.size + fresh > MAX_NAMED_STREAMS) throw tooManyNamed();
    for (const id of streams) {
      this.named.add(id);
      this.excluded.delete(id);
    }
  }

  /**
   * Takes streams out of the subscription; while subscribed to `*`, a named one is remembered as
   * excluded. Throws, changing nothing, when that would pass MAX_NAMED_STREAMS.
   */
  remove(streams: StreamSelector): void {
    if (streams === '*') {
      this.all = false;
      this.named.clear();
      this.excluded.clear();
      return;
    }
    if (this.all && this.named.size + this.excluded.size + streams.filter((id) => !this.excluded.has(id)).length > MAX_NAMED_STREAMS) {
      throw tooManyNamed();
    }
    for (const id of streams) {
      this.named.delete(id);
      if (this.all) this.excluded.add(id);
    }
  }

  stats(): ClientStats {
    return {
      id: this.id,
      queuedMessages: this.queue.length,
      queuedHeatmaps: this.queue.heatmapCount,
      queuedControls: this.queue.controlCount,
      queuedBytes: this.queue.byteLength,
      bufferedAmount: this.socket.bufferedAmount,
      queueDropped: this.queueDropped,
      heatmapsSent: this.heatmapsSent,
    };
  }
}

function tooManyNamed(): AvlocError {
  return new AvlocError(
    'PROTOCOL_INVALID',
    `a connection may name at most ${MAX_NAMED_STREAMS} stream ids; subscribe to "*" instead, or unsubscribe some first`,
  );
}
