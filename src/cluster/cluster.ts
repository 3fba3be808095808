/**
 * Cluster mode: several avloc nodes acting as one service over one Redis (docs/SCALING.md).
 *
 *   claims      a stream id runs on one node at a time, cluster-wide (claim-book.ts)
 *   directory   every node reads every claim each `pollMs`, so its hub lists the other nodes'
 *               streams and ends those whose claim expired with their node (remote-streams.ts)
 *   fan-out     local stream events and heatmaps go out over pub/sub (fanout.ts); each node
 *               listens to what its own clients want (listener.ts) and hands it to its hub
 *
 * When Redis is unreachable the node serves its own streams and local clients; the other nodes'
 * streams leave its list after one claim TTL without a directory; when Redis returns it claims its
 * live streams again (ending one whose id another node took meanwhile) and listens again.
 */
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ClaimOutcome, SourceKind, StreamClaims } from '../media/source.ts';
import type { LocalEvent } from '../publish/hub-events.ts';
import type { Hub } from '../publish/hub.ts';
import type { MetricsRegistry } from '../publish/metrics.ts';
import type { ClusterConfig } from '../config/schema.ts';
import { ClaimBook } from './claim-book.ts';
import { registerClusterMetrics } from './cluster-metrics.ts';
import { ClusterStats } from './cluster-stats.ts';
import { liveNodes, readDirectory } from './directory.ts';
import { Fanout } from './fanout.ts';
import { clusterKeys, type ClusterKeys } from './keys.ts';
import { ClusterListener } from './listener.ts';
import { PreviewDemand } from './preview-demand.ts';
import type { NodeRecord } from './records.ts';
import { RedisLink } from './redis-link.ts';
import { RemoteStreams } from './remote-streams.ts';

export interface ClusterOptions {
  readonly config: ClusterConfig;
  readonly redisUrl: string;
  readonly node: string;
  readonly hub: Hub;
  readonly log: Logger;
}

/** `cluster` in /api/health. */
export interface ClusterHealth {
  readonly node: string;
  readonly redis: 'up' | 'down';
  /** Since when Redis has been up or down (ISO 8601). */
  readonly since: string;
  /** The last connection error while down. */
  readonly error?: string;
  readonly remoteStreams: number;
  readonly claims: number;
}

export class Cluster implements StreamClaims {
  readonly node: string;
  private readonly link: RedisLink;
  private readonly keys: ClusterKeys;
  private readonly stats = new ClusterStats();
  private readonly book: ClaimBook;
  private readonly remote: RemoteStreams;
  private readonly fanout: Fanout;
  private readonly listener: ClusterListener;
  private readonly demand = new PreviewDemand();
  private readonly startedAtMs = Date.now();
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private readonly offs: Array<() => void> = [];
  private lastDirectoryAt = Date.now();
  private polling = false;
  private closing: Promise<void> | undefined;
  private lost: (id: string, holder: string) => void = () => {};

  constructor(private readonly o: ClusterOptions) {
    const { config, hub, log } = o;
    this.node = o.node;
    this.keys = clusterKeys(config.keyPrefix);
    this.link = new RedisLink({ url: o.redisUrl, node: o.node, commandTimeoutMs: config.commandTimeoutMs, log });
    this.remote = new RemoteStreams(hub, o.node, this.stats);
    this.book = new ClaimBook({
      link: this.link,
      keys: this.keys,
      node: o.node,
      ttlMs: config.claimTtlMs,
      stats: this.stats,
      log,
      summaryOf: (id) => (hub.isLocal(id) ? hub.summary(id) : undefined),
      remoteHolder: (id) => this.remote.nodeOf(id),
      onLost: (id, holder) => this.lost(id, holder),
    });
    this.fanout = new Fanout({
      link: this.link,
      keys: this.keys,
      node: o.node,
      stats: this.stats,
      log,
      maxPendingMessages: config.maxPendingMessages,
      maxPendingBytes: config.maxPendingBytes,
      claimIdOf: (id) => this.book.claimIdOf(id),
      previewWanted: (id) => this.demand.wants(id),
    });
    this.listener = new ClusterListener({ link: this.link, keys: this.keys, node: o.node, hub, remote: this.remote, stats: this.stats, log });
  }

  /** Who ends a local stream whose id another node holds now (the server). */
  set onLost(fn: (id: string, holder: string) => void) {
    this.lost = fn;
  }

  /** Connects (an unreachable Redis is retried, not an error) and starts the heartbeat and the poll. */
  start(): void {
    const { config, hub } = this.o;
    this.offs.push(hub.tap((e) => this.onLocal(e)));
    this.offs.push(
      this.link.onChange((state) => {
        if (state === 'up') void this.rejoin();
      }),
    );
    this.listener.start();
    this.link.start();
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(config.heartbeatMs, () => void this.heartbeat());
    every(config.pollMs, () => void this.poll());
    this.o.log.info('cluster mode', { node: this.node, keyPrefix: config.keyPrefix, claimTtlMs: config.claimTtlMs });
  }

  claim(id: string, kind: SourceKind): Promise<ClaimOutcome> {
    return this.book.claim(id, kind);
  }

  /** The stream of `id` starts here; false when its id was lost to another node meanwhile. */
  confirm(id: string, kind: SourceKind): boolean {
    return this.book.confirm(id, kind);
  }

  /** Gives back a claim whose publisher was refused after all. */
  abandon(id: string): void {
    this.book.abandon(id);
  }

  /** Gives back the claim of a stream that ended. */
  release(id: string): void {
    this.book.release(id);
  }

  health(): ClusterHealth {
    const down = this.link.state !== 'up';
    return {
      node: this.node,
      redis: this.link.state,
      since: new Date(this.link.since).toISOString(),
      ...(down && this.link.error ? { error: this.link.error } : {}),
      remoteStreams: this.remote.count,
      claims: this.book.size,
    };
  }

  registerMetrics(registry: MetricsRegistry): void {
    registerClusterMetrics(registry, this.stats, () => ({ redisUp: this.link.state === 'up', remoteStreams: this.remote.count, claims: this.book.size }));
  }

  /** Releases this node's claims and presence, then disconnects. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      for (const off of this.offs) off();
      this.listener.close();
      await this.book.releaseAll();
      if (this.link.state === 'up') await this.link.cmd.del(this.keys.node(this.node)).catch(() => 0);
      await this.link.close();
    })();
    return this.closing;
  }

  private onLocal(e: LocalEvent): void {
    if (this.closing) return;
    if (e.type === 'heatmap') this.fanout.heatmap(e.source);
    else this.fanout.event(e);
  }

  private async rejoin(): Promise<void> {
    await this.heartbeat();
    await this.poll();
  }

  private async heartbeat(): Promise<void> {
    if (this.closing || this.link.state !== 'up') return;
    const record: NodeRecord = { v: 1, node: this.node, startedAtMs: this.startedAtMs };
    await Promise.allSettled([
      this.book.heartbeat(),
      this.link.cmd.set(this.keys.node(this.node), JSON.stringify(record), 'PX', this.o.config.claimTtlMs),
    ]);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closing) return;
    this.polling = true;
    const startedAt = Date.now();
    try {
      if (this.link.state === 'up') {
        const cmd = this.link.cmd;
        const dir = await readDirectory(cmd, this.keys);
        if (dir.truncated) this.o.log.warn('stream directory larger than one reading; the rest is not listed', { read: dir.entries.length });
        const alive = await liveNodes(cmd, this.keys, this.remote.nodes());
        this.remote.reconcile(dir.entries, startedAt, alive);
        this.lastDirectoryAt = Date.now();
        await this.demand.refresh(cmd, this.keys, this.o.hub.localStreams().map((s) => s.id), (c) => this.listener.isSubscribed(c));
      }
    } catch (err) {
      this.o.log.debug('directory poll failed', { error: describeError(err) });
    } finally {
      this.polling = false;
    }
    if (this.remote.count > 0 && Date.now() - this.lastDirectoryAt > this.o.config.claimTtlMs) {
      this.o.log.warn('stream directory unreadable for a claim TTL; other nodes\u2019 streams leave the list until Redis returns', { streams: this.remote.count });
      this.remote.endAll('cluster directory unreachable (Redis down)', 'unreachable');
    }
  }
}
