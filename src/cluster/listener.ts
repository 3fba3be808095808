/**
 * This node's subscriber connection: listens to exactly what its clients want and hands what
 * arrives to the hub, the same way local results enter it (same queues, same drop counts).
 *
 * Always `events`. Heatmaps: `hm:*` while some client is subscribed to `*`, else `hm:<id>` for
 * each id a client named (past MAX_NAMED, the pattern). Previews: `pv-all` or `pv:<id>`, silent
 * channels that tell the streams' nodes to send JPEGs (preview-demand.ts). The wanted set is
 * recomputed on every subscription change of a client and whenever Redis comes back (ioredis's
 * own resubscribing is off: redis-link.ts), then the difference is (un)subscribed.
 */
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { HubInterest } from '../publish/hub-events.ts';
import type { HeatmapSource } from '../wire/protocol.ts';
import type { ClusterStats } from './cluster-stats.ts';
import { decodeEventMessage, decodeHeatmapMessage, heatmapMessageNode } from './fanout-codec.ts';
import type { ClusterKeys } from './keys.ts';
import type { RedisLink } from './redis-link.ts';
import type { RemoteStreams } from './remote-streams.ts';

/** The part of the hub the listener uses. */
export interface ListenerHub {
  interest(): HubInterest;
  watchInterest(fn: () => void): () => void;
  publishRemote(source: HeatmapSource): void;
  isLocal(id: string): boolean;
}

export interface ListenerOptions {
  readonly link: RedisLink;
  readonly keys: ClusterKeys;
  readonly node: string;
  readonly hub: ListenerHub;
  readonly remote: RemoteStreams;
  readonly stats: ClusterStats;
  readonly log: Logger;
}

/** Named ids past which the node listens to every stream's heatmaps instead (one pattern, not thousands of channels). */
export const MAX_NAMED = 256;
const RETRY_MS = 1000;

export class ClusterListener {
  private readonly channels = new Set<string>();
  private readonly patterns = new Set<string>();
  private scheduled = false;
  private running = false;
  private again = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly offs: Array<() => void> = [];

  constructor(private readonly o: ListenerOptions) {}

  start(): void {
    const { link, hub } = this.o;
    const onMessage = (channel: Buffer, message: Buffer): void => this.route(channel.toString('utf8'), message);
    link.sub.on('messageBuffer', onMessage);
    link.sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => onMessage(channel, message));
    this.offs.push(hub.watchInterest(() => this.schedule()));
    this.offs.push(
      link.onChange((state) => {
        // A new connection starts with no subscriptions.
        this.channels.clear();
        this.patterns.clear();
        if (state === 'up') this.schedule();
      }),
    );
    this.schedule();
  }

  /** Whether this node's subscriber connection is on `channel` (preview demand subtracts it). */
  isSubscribed(channel: string): boolean {
    return this.channels.has(channel);
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    for (const off of this.offs) off();
  }

  private schedule(): void {
    if (this.closed || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.reconcile();
    });
  }

  private wanted(): { channels: Set<string>; patterns: Set<string> } {
    const { keys } = this.o;
    const i = this.o.hub.interest();
    const channels = new Set<string>([keys.events]);
    const patterns = new Set<string>();
    if (i.all || i.named.size > MAX_NAMED) patterns.add(keys.heatmapPattern);
    else for (const id of i.named.keys()) channels.add(keys.heatmaps(id));
    const previewIds = [...i.named].filter(([, preview]) => preview).map(([id]) => id);
    if (i.allPreview || previewIds.length > MAX_NAMED) channels.add(keys.previewWantedAll);
    else for (const id of previewIds) channels.add(keys.previewWanted(id));
    return { channels, patterns };
  }

  private async reconcile(): Promise<void> {
    if (this.closed || this.o.link.state !== 'up') return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    const sub = this.o.link.sub;
    try {
      const want = this.wanted();
      const addC = [...want.channels].filter((c) => !this.channels.has(c));
      const dropC = [...this.channels].filter((c) => !want.channels.has(c));
      const addP = [...want.patterns].filter((p) => !this.patterns.has(p));
      const dropP = [...this.patterns].filter((p) => !want.patterns.has(p));
      if (addC.length > 0) {
        await sub.subscribe(...addC);
        for (const c of addC) this.channels.add(c);
      }
      if (addP.length > 0) {
        await sub.psubscribe(...addP);
        for (const p of addP) this.patterns.add(p);
      }
      if (dropC.length > 0) {
        await sub.unsubscribe(...dropC);
        for (const c of dropC) this.channels.delete(c);
      }
      if (dropP.length > 0) {
        await sub.punsubscribe(...dropP);
        for (const p of dropP) this.patterns.delete(p);
      }
    } catch (err) {
      this.o.log.debug('cluster subscriptions not updated; retrying', { error: describeError(err) });
      if (!this.retry && !this.closed) {
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.schedule();
        }, RETRY_MS);
        this.retry.unref();
      }
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  private route(channel: string, message: Buffer): void {
    const { keys, stats, remote, hub, node } = this.o;
    try {
      if (channel === keys.events) {
        const e = decodeEventMessage(message.toString('utf8'));
        if (e.node === node) return;
        stats.received.event++;
        remote.event(e);
        return;
      }
      const id = keys.idOfHeatmaps(channel);
      if (id === null || hub.isLocal(id) || heatmapMessageNode(message) === node) return;   // ours: not decoded at all
      const m = decodeHeatmapMessage(message);
      stats.received.heatmap++;
      if (m.source.streamId !== id || remote.nodeOf(id) !== m.node) {
        stats.ignored.unknown_stream++;
        return;
      }
      hub.publishRemote(m.source);
    } catch (err) {
      stats.ignored.invalid++;
      this.o.log.debug('cluster message ignored', { channel, error: describeError(err) });
    }
  }
}
