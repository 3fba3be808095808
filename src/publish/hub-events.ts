/**
 * What the hub tells a listener about its own (local) streams, and what it says about what its
 * clients want. Cluster mode (src/cluster/) listens to both: local events go out to the other
 * nodes, and the interest decides which of their streams this node listens to.
 */
import type { ControlMessage, HeatmapSource } from '../wire/protocol.ts';

/** The stream events the hub broadcasts to subscribers. */
export type StreamEvent = Extract<ControlMessage, { type: 'stream.started' | 'stream.info' | 'stream.error' | 'stream.ended' }>;

/** A local stream's event or heatmap, as it enters the hub. */
export type LocalEvent = StreamEvent | { readonly type: 'heatmap'; readonly source: HeatmapSource };

/** What the hub's clients are subscribed to, all clients together. */
export interface HubInterest {
  /** Some client is subscribed to `*`. */
  readonly all: boolean;
  /** Some client subscribed to `*` wants previews. */
  readonly allPreview: boolean;
  /** Stream ids named by some client, each with whether one of those wants previews. */
  readonly named: ReadonlyMap<string, boolean>;
}
