/**
 * Getting messages to clients: each heatmap is encoded at most once per (format, preview) pair,
 * however many clients want it, and every message goes through the client's bounded queue.
 *
 * The per-client part of a heatmap (sentAtMs, sendMs, this client's drop count) is rendered at
 * write time and sent as the first or last fragment of the same WebSocket message, so the shared
 * bytes are never copied per client.
 *
 * Flow control: a message is written only while the socket's `bufferedAmount` is at or under the
 * high-water mark; otherwise it waits in the client's ClientQueue (drop-oldest-heatmap). A client
 * that never reads therefore holds at most highWaterMark + one message in its socket and
 * `heatmapLimit` heatmaps + `controlLimit` control messages in its queue.
 */
import type { Logger } from '../../log.ts';
import type { QueueEntry } from '../client-queue.ts';
import type { AvlocMetrics } from '../metrics.ts';
import { encodeControl, encodeHeatmap } from '../../wire/protocol.ts';
import type { ControlMessage, EncodedHeatmap, HeatmapSource } from '../../wire/protocol.ts';
import type { Session } from './session.ts';
import type { StreamTable } from './stream-table.ts';

const OPEN = 1;

export interface FanOutOptions {
  /** Write only while the socket buffers at most this many bytes. */
  readonly highWaterMarkBytes: number;
  /** When a full socket has no write of ours pending, re-check after this long. */
  readonly retryMs: number;
  readonly now: () => number;
  readonly metrics: AvlocMetrics | undefined;
  readonly log: Logger;
  /** Where a heatmap dropped for a slow client is counted against its stream. */
  readonly streams: StreamTable;
  /** A client too slow even for control messages, its socket closed: the hub forgets it. */
  readonly forget: (s: Session) => void;
}

export class FanOut {
  constructor(private readonly o: FanOutOptions) {}

  /** One heatmap to every client that wants it, encoded once per (format, preview). */
  heatmap(sessions: Iterable<Session>, source: HeatmapSource, captureAtMs: number, doneAtMs: number): void {
    const id = source.streamId;
    const cache = new Map<string, EncodedHeatmap>();
    for (const s of sessions) {
      if (!s.wants(id)) continue;
      const preview = s.preview && source.preview !== undefined;
      const key = `${s.format}/${preview}`;
      let enc = cache.get(key);
      if (!enc) {
        enc = encodeHeatmap(source, s.format, preview);
        cache.set(key, enc);
      }
      this.push(s, { kind: 'heatmap', streamId: id, captureAtMs, doneAtMs, encoded: enc });
    }
  }

  /** A control message to every client that wants the stream. */
  broadcast(sessions: Iterable<Session>, streamId: string, msg: ControlMessage): void {
    for (const s of sessions) if (s.wants(streamId)) this.control(s, msg);
  }

  /** A control message to one client. */
  control(s: Session, msg: ControlMessage): void {
    this.push(s, { kind: 'control', text: encodeControl(msg) });
  }

  private push(s: Session, e: QueueEntry): void {
    if (s.closed) return;
    const r = s.queue.push(e);
    if (!r.ok) {
      this.o.log.warn('client too slow for control messages, disconnecting', { client: s.id });
      this.o.metrics?.clientsClosedSlow.inc();
      s.socket.close(1008, 'client too slow');
      this.o.forget(s);
      return;
    }
    if (r.dropped) {
      s.queueDropped++;
      const st = this.o.streams.get(r.dropped.streamId);
      if (st) st.queueDropped++;
      this.o.metrics?.clientQueueDropped.inc({ stream: r.dropped.streamId });
    }
    this.flush(s);
  }

  private flush(s: Session): void {
    while (!s.closed && s.queue.length > 0 && s.socket.readyState === OPEN && s.socket.bufferedAmount <= this.o.highWaterMarkBytes) {
      const e = s.queue.shift();
      if (e) this.write(s, e);
    }
    // The send callbacks of our pending writes re-run flush when the socket drains; if none is
    // pending (the buffer is full of someone else's bytes, e.g. a ws ping), poll instead.
    if (!s.closed && s.queue.length > 0 && s.inflight === 0 && !s.retry && s.socket.readyState === OPEN) {
      s.retry = setTimeout(() => {
        s.retry = undefined;
        this.flush(s);
      }, this.o.retryMs);
      s.retry.unref?.();
    }
  }

  private write(s: Session, e: QueueEntry): void {
    s.inflight++;
    const done = (err?: Error): void => {
      s.inflight--;
      if (!err) this.flush(s);
    };
    if (e.kind === 'control') {
      s.socket.send(e.text, { binary: false, fin: true }, done);
      return;
    }
    const sentAtMs = this.o.now();
    const enc = e.encoded;
    const per = enc.perSend({ sentAtMs, queueDropped: s.queueDropped });
    const binary = enc.format === 'binary';
    // Two fragments of one message: no per-client copy of the shared bytes.
    const [first, last] = enc.perSendFirst ? [per, enc.shared] : [enc.shared, per];
    s.socket.send(first, { binary, fin: false });
    s.socket.send(last, { binary, fin: true }, done);
    s.heatmapsSent++;
    const m = this.o.metrics;
    if (m) {
      m.heatmapsSent.inc({ stream: e.streamId });
      m.e2eLatency.observe({}, Math.max(0, sentAtMs - e.captureAtMs) / 1000);
      m.stageSeconds.observe({ stage: 'send' }, Math.max(0, sentAtMs - e.doneAtMs) / 1000);
    }
  }
}
