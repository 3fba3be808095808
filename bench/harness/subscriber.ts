import { WebSocket } from 'ws';
import { AvlocClient, type WebSocketConstructor } from '../../src/wire/client.ts';
import type { Heatmap } from '../../src/wire/protocol.ts';
import { nowMs } from '../../src/pipeline/types.ts';

/**
 * A well-behaved subscriber (the service's own typed client, binary format, all streams) that
 * timestamps every heatmap on arrival and keeps the few fields the bench needs. It runs in the
 * bench process, not the service's, so its receive times are not delayed by the service's work.
 */
export interface Received {
  readonly streamId: string;
  readonly frame: number;
  readonly ptsMs: number;
  readonly captureAtMs: number;
  readonly decodedAtMs: number;
  readonly doneAtMs: number;
  readonly sentAtMs: number;
  readonly recvAtMs: number;
  readonly inferenceMs: number;
  readonly waitMs: number;
  readonly batchSize: number;
  readonly decoded: number;
  readonly skipped: number;
  readonly dropped: number;
  readonly analyzed: number;
  readonly queueDropped: number;
}

export class Subscriber {
  readonly received: Received[] = [];
  private readonly client: AvlocClient;
  protocolErrors = 0;
  private constructor(client: AvlocClient) {
    this.client = client;
    client.on('heatmap', (h: Heatmap) => {
      this.received.push({
        streamId: h.streamId,
        frame: h.frame,
        ptsMs: h.ptsMs,
        captureAtMs: h.captureAtMs,
        decodedAtMs: h.decodedAtMs,
        doneAtMs: h.doneAtMs,
        sentAtMs: h.sentAtMs,
        recvAtMs: nowMs(),
        inferenceMs: h.timings.inferenceMs,
        waitMs: h.timings.waitMs,
        batchSize: h.batchSize,
        decoded: h.counters.decoded,
        skipped: h.counters.skipped,
        dropped: h.counters.dropped,
        analyzed: h.counters.analyzed,
        queueDropped: h.counters.queueDropped,
      });
    });
    client.on('protocol-error', () => {
      this.protocolErrors++;
    });
  }

  static async connect(url: string): Promise<Subscriber> {
    const client = await AvlocClient.connect(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
    const sub = new Subscriber(client);
    client.subscribe('*', { format: 'binary', preview: false });
    return sub;
  }

  /** Messages received in [fromMs, toMs) of the nowMs clock. */
  between(fromMs: number, toMs: number): Received[] {
    return this.received.filter((r) => r.recvAtMs >= fromMs && r.recvAtMs < toMs);
  }

  /** Forget what was received so far (after a warm-up). */
  clear(): void {
    this.received.length = 0;
  }

  close(): void {
    this.client.close();
  }
}
