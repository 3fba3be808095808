import type { MetricsRegistry } from '../publish/metrics.ts';
import type { ClusterStats } from './cluster-stats.ts';

/** Cluster mode's series on /metrics (docs/PROTOCOL.md), read from its live stats at each scrape. */
export function registerClusterMetrics(
  registry: MetricsRegistry,
  stats: Readonly<ClusterStats>,
  live: () => { redisUp: boolean; remoteStreams: number; claims: number },
): void {
  const up = registry.gauge('avloc_cluster_redis_up', 'Whether this node reaches Redis (1) or serves its own streams only (0).');
  const remote = registry.gauge('avloc_cluster_remote_streams', 'Streams of other nodes this node lists and relays.');
  const claims = registry.gauge('avloc_cluster_claims', 'Stream ids this node holds (or is admitting).');
  const pending = registry.gauge('avloc_cluster_pending_messages', 'Pub/sub messages sent to Redis and not yet acknowledged (bounded by cluster.maxPendingMessages).');
  const published = registry.counter('avloc_cluster_messages_published_total', 'Pub/sub messages sent to the other nodes, by kind (heatmap, event).');
  const received = registry.counter('avloc_cluster_messages_received_total', 'Pub/sub messages received from the other nodes, by kind (heatmap, event).');
  const dropped = registry.counter(
    'avloc_cluster_messages_dropped_total',
    'Pub/sub messages not sent, by reason: redis_down, backlog (cluster.maxPendingMessages / maxPendingBytes reached), failed.',
  );
  const ignored = registry.counter('avloc_cluster_messages_ignored_total', 'Messages from other nodes ignored, by reason: invalid, unknown_stream.');
  const refused = registry.counter('avloc_cluster_claims_refused_total', 'Publishers refused because their stream id is live on another node.');
  const lost = registry.counter('avloc_cluster_claims_lost_total', 'Local streams ended because another node took their id while Redis was unreachable.');
  const offline = registry.counter('avloc_cluster_admitted_offline_total', 'Publishers admitted while Redis was unreachable (claimed when it returned).');
  const ends = registry.counter(
    'avloc_cluster_remote_ends_total',
    'Streams of other nodes that left this node\u2019s list, by cause: ended, node_lost (claim expired with its node), unreachable (no directory for a claim TTL), replaced.',
  );
  registry.onCollect(() => {
    const l = live();
    up.set({}, l.redisUp ? 1 : 0);
    remote.set({}, l.remoteStreams);
    claims.set({}, l.claims);
    pending.set({}, stats.pendingMessages);
    for (const [kind, n] of Object.entries(stats.published)) published.set({ kind }, n);
    for (const [kind, n] of Object.entries(stats.received)) received.set({ kind }, n);
    for (const [reason, n] of Object.entries(stats.dropped)) dropped.set({ reason }, n);
    for (const [reason, n] of Object.entries(stats.ignored)) ignored.set({ reason }, n);
    refused.set({}, stats.claimsRefused);
    lost.set({}, stats.claimsLost);
    offline.set({}, stats.admittedOffline);
    for (const [cause, n] of Object.entries(stats.remoteEnds)) ends.set({ cause }, n);
  });
}
