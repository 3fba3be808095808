/**
 * Every Redis key and channel of a cluster, derived from its prefix (cluster.keyPrefix). Stream
 * ids (A-Z a-z 0-9 _ -) and prefixes (also . :) hold no glob characters, so the patterns match
 * exactly what they name.
 *
 *   <p>stream:<id>   the claim: which node runs stream <id> (string, PX claimTtlMs)
 *   <p>info:<id>     that node's latest summary of the stream (JSON, same TTL, renewed with the claim)
 *   <p>node:<node>   a node's presence (JSON, same TTL): tells "node lost" from "stream ended"
 *   <p>events        pub/sub: stream started / info / error / ended, all nodes, all streams
 *   <p>hm:<id>       pub/sub: heatmaps of stream <id>, one message per analyzed frame
 *   <p>pv:<id>       pub/sub, never published to: subscribed by nodes whose clients want previews of <id>
 *   <p>pv-all        the same for clients subscribed to every stream with previews
 */
export interface ClusterKeys {
  claim(id: string): string;
  info(id: string): string;
  node(node: string): string;
  readonly claimPattern: string;
  readonly events: string;
  heatmaps(id: string): string;
  readonly heatmapPattern: string;
  previewWanted(id: string): string;
  readonly previewWantedAll: string;
  /** The stream id of a claim key, or null for another key. */
  idOfClaim(key: string): string | null;
  /** The stream id of a heatmap channel, or null for another channel. */
  idOfHeatmaps(channel: string): string | null;
}

export function clusterKeys(prefix: string): ClusterKeys {
  const after = (start: string) => (s: string): string | null => (s.startsWith(start) && s.length > start.length ? s.slice(start.length) : null);
  return {
    claim: (id) => `${prefix}stream:${id}`,
    info: (id) => `${prefix}info:${id}`,
    node: (node) => `${prefix}node:${node}`,
    claimPattern: `${prefix}stream:*`,
    events: `${prefix}events`,
    heatmaps: (id) => `${prefix}hm:${id}`,
    heatmapPattern: `${prefix}hm:*`,
    previewWanted: (id) => `${prefix}pv:${id}`,
    previewWantedAll: `${prefix}pv-all`,
    idOfClaim: after(`${prefix}stream:`),
    idOfHeatmaps: after(`${prefix}hm:`),
  };
}
