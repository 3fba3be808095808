/** What the cluster code counts; the metrics read it at scrape time (cluster-metrics.ts). */
export type DropReason = 'redis_down' | 'backlog' | 'failed';
export type RemoteEndCause = 'ended' | 'node_lost' | 'unreachable' | 'replaced';

export class ClusterStats {
  readonly published = { heatmap: 0, event: 0 };
  readonly received = { heatmap: 0, event: 0 };
  readonly dropped: Record<DropReason, number> = { redis_down: 0, backlog: 0, failed: 0 };
  /** Messages from other nodes that did not decode, or named a stream not known here. */
  readonly ignored = { invalid: 0, unknown_stream: 0 };
  /** A publisher refused because its id is live on another node. */
  claimsRefused = 0;
  /** A local stream ended because another node holds its id (taken while Redis was away). */
  claimsLost = 0;
  /** Publishers admitted while Redis was down (claimed once it returns). */
  admittedOffline = 0;
  readonly remoteEnds: Record<RemoteEndCause, number> = { ended: 0, node_lost: 0, unreachable: 0, replaced: 0 };
  /** Messages sent to Redis and not yet acknowledged, and their bytes. */
  pendingMessages = 0;
  pendingBytes = 0;
}
