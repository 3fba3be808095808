/**
 * Sends this node's stream events and heatmaps to the other nodes over pub/sub, boundedly: while
 * Redis is down, or while `maxPendingMessages` / `maxPendingBytes` are sent and not yet
 * acknowledged (a slow Redis or network), a message is dropped and counted, never queued. A
 * heatmap carries its preview only when some other node's client wants it (preview-demand.ts).
 */
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StreamEvent } from '../publish/hub-events.ts';
import type { HeatmapSource } from '../wire/protocol.ts';
import type { ClusterStats, DropReason } from './cluster-stats.ts';
import { encodeEventMessage, encodeHeatmapMessage } from './fanout-codec.ts';
import type { ClusterKeys } from './keys.ts';
import type { RedisLink } from './redis-link.ts';

export interface FanoutOptions {
  readonly link: RedisLink;
  readonly keys: ClusterKeys;
  readonly node: string;
  readonly stats: ClusterStats;
  readonly log: Logger;
  readonly maxPendingMessages: number;
  readonly maxPendingBytes: number;
  /** The claim id of a local stream (events carry it, so receivers tell a stream from its successor). */
  readonly claimIdOf: (id: string) => string | undefined;
  /** Whether another node's client wants previews of `id`. */
  readonly previewWanted: (id: string) => boolean;
}

export class Fanout {
  private warnedAt = 0;

  constructor(private readonly o: FanoutOptions) {}

  event(e: StreamEvent): void {
    this.send('event', this.o.keys.events, Buffer.from(encodeEventMessage(this.o.node, this.o.claimIdOf(e.id) ?? '', e)));
  }

  heatmap(source: HeatmapSource): void {
    if (!this.admissible()) {
      this.drop(this.o.link.state !== 'up' ? 'redis_down' : 'backlog');
      return;
    }
    const withPreview = source.preview !== undefined && this.o.previewWanted(source.streamId);
    const bytes = encodeHeatmapMessage(this.o.node, source, withPreview);
    this.send('heatmap', this.o.keys.heatmaps(source.streamId), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** Cheap check before encoding: is there room at all? */
  private admissible(): boolean {
    const s = this.o.stats;
    return this.o.link.state === 'up' && s.pendingMessages < this.o.maxPendingMessages && s.pendingBytes < this.o.maxPendingBytes;
  }

  private send(kind: 'event' | 'heatmap', channel: string, payload: Buffer): void {
    const s = this.o.stats;
    if (this.o.link.state !== 'up') return this.drop('redis_down');
    if (s.pendingMessages >= this.o.maxPendingMessages || s.pendingBytes + payload.length > this.o.maxPendingBytes) return this.drop('backlog');
    s.pendingMessages++;
    s.pendingBytes += payload.length;
    const settle = (): void => {
      s.pendingMessages--;
      s.pendingBytes -= payload.length;
    };
    this.o.link.cmd.publish(channel, payload).then(
      () => {
        settle();
        s.published[kind]++;
      },
      (err: unknown) => {
        settle();
        this.drop('failed', err);
      },
    );
  }

  private drop(reason: DropReason, err?: unknown): void {
    this.o.stats.dropped[reason]++;
    const now = Date.now();
    if (reason !== 'redis_down' && now - this.warnedAt > 10_000) {
      this.warnedAt = now;
      this.o.log.warn('cluster messages dropped (counted in avloc_cluster_messages_dropped_total)', { reason, ...(err ? { error: describeError(err) } : {}) });
    }
  }
}
