import { WebSocket } from 'ws';
import { nowMs } from '../../src/pipeline/types.ts';
import { AvlocClient, type WebSocketConstructor } from '../../src/wire/client.ts';

/**
 * A WebSocket subscriber on one node that notes when each heatmap arrived, keyed by stream id and
 * frame number, and when each `stream.ended` arrived. All probes run in the bench process, so
 * their arrival times are on one clock and the difference between two probes' times for one frame
 * is what the later one paid. At most MAX_ARRIVALS arrivals are kept; later ones are counted only.
 */
export const MAX_ARRIVALS = 100_000;

export class Probe {
  /** `streamId#frame` → arrival time (nowMs clock). */
  readonly arrivals = new Map<string, number>();
  /** Stream id → arrival of its `stream.ended`, and the reason the node gave. */
  readonly ended = new Map<string, { atMs: number; reason: string }>();
  /** Per stream: the largest `counters.queueDropped` seen (this node's queue drops, plus the owner's for a remote stream). */
  readonly queueDropped = new Map<string, number>();
  overflow = 0;
  heatmaps = 0;
  private recording = false;

  private constructor(
    readonly node: string,
    private readonly client: AvlocClient,
  ) {
    client.on('heatmap', (h) => {
      const at = nowMs();
      this.heatmaps++;
      this.queueDropped.set(h.streamId, Math.max(this.queueDropped.get(h.streamId) ?? 0, h.counters.queueDropped));
      if (!this.recording) return;
      if (this.arrivals.size >= MAX_ARRIVALS) {
        this.overflow++;
        return;
      }
      this.arrivals.set(`${h.streamId}#${h.frame}`, at);
    });
    client.on('stream.ended', (e) => {
      if (this.ended.size < MAX_ARRIVALS) this.ended.set(e.id, { atMs: nowMs(), reason: e.reason });
    });
  }

  static async connect(node: string, wsUrl: string, preview: boolean): Promise<Probe> {
    const client = await AvlocClient.connect(wsUrl, { WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
    const probe = new Probe(node, client);
    client.subscribe('*', { format: 'binary', preview });
    return probe;
  }

  /** Starts noting arrivals, forgetting earlier ones. */
  record(): void {
    this.arrivals.clear();
    this.overflow = 0;
    this.recording = true;
  }

  stop(): void {
    this.recording = false;
  }

  close(): void {
    this.client.close();
  }
}
