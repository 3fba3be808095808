/**
 * The Hub fans analyzed frames and stream events out to subscribed WebSocket clients.
 *
 * Each result is encoded at most once per (format, preview) pair, however many clients want it;
 * the per-client part (sentAtMs, sendMs, this client's drop count) is rendered at write time and
 * sent as the first or last fragment of the same WebSocket message, so the shared bytes are never
 * copied per client.
 *
 * Flow control: a message is written only while the socket's `bufferedAmount` is at or under the
 * high-water mark; otherwise it waits in the client's bounded ClientQueue (drop-oldest-heatmap).
 * A client that never reads therefore holds at most highWaterMark + one message in its socket and
 * `heatmapLimit` heatmaps + `controlLimit` control messages in its queue.
 */
import type { FrameResult, StreamCounters } from '../pipeline/types.ts';
import { nowMs } from '../pipeline/types.ts';
import type { SourceKind } from '../media/source.ts';
import type { Logger } from '../log.ts';
import { createLogger } from '../log.ts';
import { AvlocError } from '../errors.ts';
import { ClientQueue } from './client-queue.ts';
import type { QueueEntry } from './client-queue.ts';
import type { AvlocMetrics } from './metrics.ts';
import type { HubInterest, LocalEvent, StreamEvent } from './hub-events.ts';
import { encodeControl, encodeHeatmap } from '../wire/protocol.ts';
import type {
  ControlMessage,
  EncodedHeatmap,
  HeatmapFormat,
  HeatmapSource,
  StreamInfo,
  StreamSelector,
  StreamState,
  StreamSummary,
} from '../wire/protocol.ts';

/** The part of a `ws` WebSocket the hub uses (so tests can pass a fake). */
export interface HubSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array | string, options: { binary: boolean; fin: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;
/**
 * Stream ids one connection may name (subscribed, or excluded from `*`). One message carries at
 * most 256, but they add up; past this a subscribe or unsubscribe is refused with an error and
 * changes nothing, so a client cannot grow the server's memory by naming ids.
 */
export const MAX_NAMED_STREAMS = 1024;

export interface HubOptions {
  readonly metrics?: AvlocMetrics;
  readonly log?: Logger;
  /** Heatmaps waiting per client before the oldest is dropped (default 8). */
  readonly heatmapQueueLimit?: number;
  /** Control messages waiting per client before the client is disconnected (default 256). */
  readonly controlQueueLimit?: number;
  /** Write only while the socket buffers at most this many bytes (default 256 KiB). */
  readonly highWaterMarkBytes?: number;
  /** When a full socket has no write of ours pending, re-check after this long (default 25 ms). */
  readonly retryMs?: number;
  readonly now?: () => number;
  /**
   * Live counters of a stream (the pipeline's StreamCounterRegistry.get). When given, the stream
   * list and the metrics read it at request/scrape time instead of the counters of the last result,
   * so a stream whose frames are all skipped still shows moving numbers.
   */
  readonly countersOf?: (streamId: string) => Readonly<StreamCounters> | undefined;
  /** Cluster mode: this node's name, given as `node` of its own streams in stream summaries. */
  readonly nodeId?: string;
}

export interface ClientStats {
  readonly id: number;
  readonly queuedMessages: number;
  readonly queuedHeatmaps: number;
  readonly queuedControls: number;
  readonly queuedBytes: number;
  readonly bufferedAmount: number;
  readonly queueDropped: number;
  readonly heatmapsSent: number;
}

/** A connected client as the ws server holds it. */
export interface HubClient {
  readonly id: number;
  stats(): ClientStats;
}

class Session implements HubClient {
  readonly queue: ClientQueue;
  all = false;
  /** Streams named explicitly; while `all`, the ones unsubscribed by name. */
  readonly named = new Set<string>();
  readonly excluded = new Set<string>();
  format: HeatmapFormat = 'binary';
  preview = false;
  queueDropped = 0;
  heatmapsSent = 0;
  inflight = 0;
  retry: ReturnType<typeof setTimeout> | undefined;
  closed = false;

  constructor(
    readonly id: number,
    readonly socket: HubSocket,
    heatmapLimit: number,
    controlLimit: number,
    /** The streams this client's token lets it see at all (`*` included). */
    readonly canSee: (streamId: string) => boolean,
  ) {
    this.queue = new ClientQueue(heatmapLimit, controlLimit);
  }

  wants(streamId: string): boolean {
    if (!this.canSee(streamId)) return false;
    return this.all ? !this.excluded.has(streamId) : this.named.has(streamId);
  }

  stats(): ClientStats {
    return {
      id: this.id,
      queuedMessages: this.queue.length,
      queuedHeatmaps: this.queue.heatmapCount,
      queuedControls: this.queue.controlCount,
      queuedBytes: this.queue.byteLength,
      bufferedAmount: this.socket.bufferedAmount,
      queueDropped: this.queueDropped,
      heatmapsSent: this.heatmapsSent,
    };
  }
}

interface StreamEntry {
  id: string;
  kind: SourceKind;
  state: StreamState;
  startedAtMs: number;
  hasAudio: boolean | null;
  hasVideo: boolean | null;
  counters: StreamCounters;
  queueDropped: number;
  /** Cluster mode: the node running the stream. */
  node: string | undefined;
  /** Runs on another node: its events and heatmaps arrive over the cluster (src/cluster/). */
  remote: boolean;
  /** A remote stream's drops for slow clients on its own node (ours are in `queueDropped`). */
  remoteQueueDropped: number;
}

export class Hub {
  private readonly sessions = new Map<number, Session>();
  private readonly streams = new Map<string, StreamEntry>();
  /**
   * Recently ended stream ids (bounded, oldest forgotten first): results still in flight when a
   * stream ends are dropped instead of reaching clients after its `stream.ended`.
   */
  private readonly ended = new Set<string>();
  private static readonly ENDED_MEMORY = 256;
  private nextId = 1;
  private closed = false;
  private readonly log: Logger;
  private readonly heatmapLimit: number;
  private readonly controlLimit: number;
  private readonly hwm: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly metrics: AvlocMetrics | undefined;
  private readonly countersOf: HubOptions['countersOf'];
  private readonly nodeId: string | undefined;
  private readonly taps = new Set<(e: LocalEvent) => void>();
  private readonly interestWatchers = new Set<() => void>();

  constructor(opts: HubOptions = {}) {
    this.nodeId = opts.nodeId;
    this.log = opts.log ?? createLogger('hub');
    this.heatmapLimit = opts.heatmapQueueLimit ?? 8;
    this.controlLimit = opts.controlQueueLimit ?? 256;
    this.hwm = opts.highWaterMarkBytes ?? 256 * 1024;
    this.retryMs = opts.retryMs ?? 25;
    this.now = opts.now ?? nowMs;
    this.metrics = opts.metrics;
    this.countersOf = opts.countersOf;
    const m = this.metrics;
    const live = this.countersOf;
    if (m && live) {
      m.registry.onCollect(() => {
        for (const id of this.streams.keys()) {
          const c = live(id);
          if (c) m.setStreamCounters(id, c);
        }
      });
    }
  }

  // ---- clients ------------------------------------------------------------------------------

  /** `canSee` limits what the client is sent, whatever it subscribes to (default: every stream). */
  addClient(socket: HubSocket, canSee: (streamId: string) => boolean = () => true): HubClient {
    const s = new Session(this.nextId++, socket, this.heatmapLimit, this.controlLimit, canSee);
    this.sessions.set(s.id, s);
    this.metrics?.clients.set({}, this.sessions.size);
    return s;
  }

  /** Forgets a client (its socket closed). Idempotent. */
  removeClient(client: HubClient): void {
    const s = this.sessions.get(client.id);
    if (!s) return;
    s.closed = true;
    if (s.retry) clearTimeout(s.retry);
    s.queue.clear();
    this.sessions.delete(s.id);
    this.metrics?.clients.set({}, this.sessions.size);
    this.interestChanged();
  }

  /** Adds streams to the client's subscription and sets its format; answers with the stream list. */
  subscribe(client: HubClient, streams: StreamSelector, format: HeatmapFormat, preview: boolean): void {
    const s = this.session(client);
    if (!s) return;
    if (streams === '*') {
      s.all = true;
      s.excluded.clear();
    } else {
      const denied = streams.filter((id) => !s.canSee(id));
      if (denied.length > 0) {
        throw new AvlocError('FORBIDDEN', `the token does not grant subscribing to ${denied.slice(0, 3).map((id) => `"${id}"`).join(', ')}${denied.length > 3 ? ` and ${denied.length - 3} more` : ''}`);
      }
      const fresh = streams.filter((id) => !s.named.has(id)).length;
      if (s.named.size + s.excluded.size + fresh > MAX_NAMED_STREAMS) throw tooManyNamed();
      for (const id of streams) {
        s.named.add(id);
        s.excluded.delete(id);
      }
    }
    s.format = format;
    s.preview = preview;
    this.enqueue(s, { type: 'streams', streams: this.listStreams().filter((st) => s.canSee(st.id)) });
    this.interestChanged();
  }

  unsubscribe(client: HubClient, streams: StreamSelector): void {
    const s = this.session(client);
    if (!s) return;
    if (streams === '*') {
      s.all = false;
      s.named.clear();
      s.excluded.clear();
      this.interestChanged();
      return;
    }
    if (s.all && s.named.size + s.excluded.size + streams.filter((id) => !s.excluded.has(id)).length > MAX_NAMED_STREAMS) {
      throw tooManyNamed();
    }
    for (const id of streams) {
      s.named.delete(id);
      if (s.all) s.excluded.add(id);
    }
    this.interestChanged();
  }

  /** Sends a control message to one client (hello, pong, error), through its queue. */
  sendTo(client: HubClient, msg: ControlMessage): void {
    const s = this.session(client);
    if (s) this.enqueue(s, msg);
  }

  clientStats(): ClientStats[] {
    return [...this.sessions.values()].map((s) => s.stats());
  }

  // ---- streams ------------------------------------------------------------------------------

  streamStarted(id: string, kind: SourceKind, startedAtMs: number): void {
    this.enter(id, kind, startedAtMs, this.nodeId, false);
    const msg: StreamEvent = { type: 'stream.started', id, kind, startedAtMs, ...(this.nodeId !== undefined ? { node: this.nodeId } : {}) };
    this.broadcast(id, msg);
    this.emit(msg);
  }

  streamInfo(info: StreamInfo): void {
    const e = this.streams.get(info.id);
    if (e?.remote) return;
    this.noteInfo(info);
    this.emit({ type: 'stream.info', ...info });
  }

  setStreamState(id: string, state: Exclude<StreamState, 'ended'>): void {
    const e = this.streams.get(id);
    if (e) e.state = state;
  }

  streamError(id: string, code: string, message: string): void {
    if (this.streams.get(id)?.remote) return;
    const msg: StreamEvent = { type: 'stream.error', id, code, message };
    this.broadcast(id, msg);
    this.emit(msg);
  }

  streamEnded(id: string, reason: string): void {
    if (this.streams.get(id)?.remote) return;
    this.leave(id, reason);
    this.emit({ type: 'stream.ended', id, reason });
  }

  // ---- streams of other nodes (cluster mode) --------------------------------------------------
  // They enter the same tables and reach clients through the same queues as local ones; they are
  // never told to the taps (they are some other node's to tell) and never counted as this node's.

  /**
   * A stream of another node appears or changes: started, info, error or ended. Ignored where a
   * local stream has the id (two nodes with one id is the claims' conflict to settle, and here
   * the local one is what clients see until then).
   */
  applyRemote(msg: StreamEvent, node: string): void {
    const e = this.streams.get(msg.id);
    if (e && !e.remote) return;
    switch (msg.type) {
      case 'stream.started':
        this.enter(msg.id, msg.kind, msg.startedAtMs, node, true);
        this.broadcast(msg.id, { type: 'stream.started', id: msg.id, kind: msg.kind, startedAtMs: msg.startedAtMs, node });
        return;
      case 'stream.info': {
        const { type: _type, ...info } = msg;
        this.noteInfo(info);
        return;
      }
      case 'stream.error':
        this.broadcast(msg.id, msg);
        return;
      case 'stream.ended':
        if (e) this.leave(msg.id, msg.reason);
        return;
    }
  }

  /** Refreshes what the stream list says of a remote stream (its node's latest summary). */
  updateRemote(summary: StreamSummary): void {
    const e = this.streams.get(summary.id);
    if (!e?.remote) return;
    e.state = summary.state === 'ended' ? e.state : summary.state;
    e.hasAudio = summary.hasAudio;
    e.hasVideo = summary.hasVideo;
    e.counters = { ...summary.counters };
    e.remoteQueueDropped = summary.queueDropped;
  }

  /** A heatmap of a remote stream: delivered exactly like a local one (same queues, same drops). */
  publishRemote(source: HeatmapSource): void {
    if (this.closed) return;
    const id = source.streamId;
    if (this.ended.has(id)) return;
    const e = this.streams.get(id);
    if (e && !e.remote) return;
    if (e) {
      e.state = 'live';
      e.hasAudio = source.hasAudio;
      e.hasVideo = true;
      e.counters = { ...source.counters };
    }
    this.deliver(source, source.captureAtMs, source.doneAtMs);
  }

  /** Whether `id` is one of this node's own live streams. */
  isLocal(id: string): boolean {
    const e = this.streams.get(id);
    return e !== undefined && !e.remote;
  }

  /** Remote streams now listed, with the node running each. */
  remoteStreams(): Array<{ readonly id: string; readonly node: string }> {
    const out: Array<{ id: string; node: string }> = [];
    for (const e of this.streams.values()) if (e.remote) out.push({ id: e.id, node: e.node ?? '' });
    return out;
  }

  /** Summaries of this node's own streams only. */
  localStreams(): StreamSummary[] {
    return this.listStreams().filter((s) => this.isLocal(s.id));
  }

  /** Tells `fn` every local stream event and heatmap as it enters the hub; returns an unsubscribe. */
  tap(fn: (e: LocalEvent) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /** Calls `fn` (synchronously) whenever a client's subscription changes; returns an unsubscribe. */
  watchInterest(fn: () => void): () => void {
    this.interestWatchers.add(fn);
    return () => this.interestWatchers.delete(fn);
  }

  /** What all clients together are subscribed to. */
  interest(): HubInterest {
    let all = false;
    let allPreview = false;
    const named = new Map<string, boolean>();
    for (const s of this.sessions.values()) {
      if (s.all) {
        all = true;
        allPreview ||= s.preview;
      } else {
        for (const id of s.named) named.set(id, (named.get(id) ?? false) || s.preview);
      }
    }
    return { all, allPreview, named };
  }

  /** Latest counters of a stream, when the pipeline has news but no result to publish. */
  updateCounters(id: string, counters: StreamCounters): void {
    const e = this.streams.get(id);
    if (e) e.counters = { ...counters };
    this.metrics?.setStreamCounters(id, counters);
  }

  listStreams(): StreamSummary[] {
    return [...this.streams.values()].map((e) => this.summarize(e));
  }

  /** The summary of one listed stream. */
  summary(id: string): StreamSummary | undefined {
    const e = this.streams.get(id);
    return e ? this.summarize(e) : undefined;
  }

  // ---- heatmaps -----------------------------------------------------------------------------

  publish(result: FrameResult, counters: StreamCounters): void {
    if (this.closed) return;
    const id = result.streamId;
    if (this.ended.has(id)) {
      this.log.debug('result for an ended stream dropped', { stream: id, frame: result.frame.index });
      return;
    }
    // A stream nobody announced (tests, tools) is still delivered, just not listed.
    const entry = this.streams.get(id);
    if (entry) {
      entry.counters = { ...counters };
      entry.hasAudio = result.hasAudio;
      entry.hasVideo = true;
      entry.state = 'live'; // a result is proof of life, also after 'stalled'
    }
    const m = this.metrics;
    if (m) {
      m.setStreamCounters(id, counters);
      m.stageSeconds.observe({ stage: 'decode' }, result.timings.decodeMs / 1000);
      m.stageSeconds.observe({ stage: 'wait' }, result.timings.waitMs / 1000);
      m.stageSeconds.observe({ stage: 'inference' }, result.timings.inferenceMs / 1000);
    }
    const source = toSource(result, counters);
    this.deliver(source, result.frame.captureAtMs, result.doneAtMs);
    if (this.taps.size > 0 && !entry?.remote) this.emit({ type: 'heatmap', source });
  }

  /** Forgets every client and stream. Sockets belong to the ws server, which closes them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.taps.clear();
    this.interestWatchers.clear();
    for (const s of [...this.sessions.values()]) this.removeClient(s);
    this.streams.clear();
    this.ended.clear();
  }

  // ---- internals ----------------------------------------------------------------------------

  private session(client: HubClient): Session | undefined {
    return this.sessions.get(client.id);
  }

  private summarize(e: StreamEntry): StreamSummary {
    return {
      id: e.id,
      kind: e.kind,
      state: e.state,
      startedAtMs: e.startedAtMs,
      hasAudio: e.hasAudio,
      hasVideo: e.hasVideo,
      counters: { ...((e.remote ? undefined : this.countersOf?.(e.id)) ?? e.counters) },
      queueDropped: e.queueDropped + e.remoteQueueDropped,
      ...(e.node !== undefined ? { node: e.node } : {}),
    };
  }

  /** One heatmap to every client that wants it, encoded once per (format, preview). */
  private deliver(source: HeatmapSource, captureAtMs: number, doneAtMs: number): void {
    const id = source.streamId;
    const cache = new Map<string, EncodedHeatmap>();
    for (const s of this.sessions.values()) {
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

  private enter(id: string, kind: SourceKind, startedAtMs: number, node: string | undefined, remote: boolean): void {
    this.ended.delete(id);
    this.streams.set(id, {
      id,
      kind,
      state: 'starting',
      startedAtMs,
      hasAudio: null,
      hasVideo: null,
      counters: { decoded: 0, skipped: 0, dropped: 0, analyzed: 0 },
      queueDropped: 0,
      node,
      remote,
      remoteQueueDropped: 0,
    });
    this.countLocal();
  }

  private noteInfo(info: StreamInfo): void {
    const e = this.streams.get(info.id);
    if (e) {
      e.hasAudio = info.hasAudio;
      e.hasVideo = info.hasVideo;
      if (e.state === 'starting') e.state = 'live';
    }
    this.broadcast(info.id, { type: 'stream.info', ...info });
  }

  private leave(id: string, reason: string): void {
    this.streams.delete(id);
    this.ended.add(id);
    if (this.ended.size > Hub.ENDED_MEMORY) {
      const oldest = this.ended.values().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
    this.countLocal();
    this.metrics?.forgetStream(id);
    this.broadcast(id, { type: 'stream.ended', id, reason });
  }

  /** `avloc_streams` is this node's own live streams (each node reports its own). */
  private countLocal(): void {
    if (!this.metrics) return;
    let n = 0;
    for (const e of this.streams.values()) if (!e.remote) n++;
    this.metrics.streams.set({}, n);
  }

  private emit(e: LocalEvent): void {
    for (const fn of this.taps) {
      try {
        fn(e);
      } catch (err) {
        this.log.error('hub listener failed', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  private interestChanged(): void {
    for (const fn of this.interestWatchers) {
      try {
        fn();
      } catch (err) {
        this.log.error('hub interest watcher failed', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  private broadcast(streamId: string, msg: ControlMessage): void {
    for (const s of this.sessions.values()) if (s.wants(streamId)) this.enqueue(s, msg);
  }

  private enqueue(s: Session, msg: ControlMessage): void {
    this.push(s, { kind: 'control', text: encodeControl(msg) });
  }

  private push(s: Session, e: QueueEntry): void {
    if (s.closed) return;
    const r = s.queue.push(e);
    if (!r.ok) {
      this.log.warn('client too slow for control messages, disconnecting', { client: s.id });
      this.metrics?.clientsClosedSlow.inc();
      s.socket.close(1008, 'client too slow');
      this.removeClient(s);
      return;
    }
    if (r.dropped) {
      s.queueDropped++;
      const st = this.streams.get(r.dropped.streamId);
      if (st) st.queueDropped++;
      this.metrics?.clientQueueDropped.inc({ stream: r.dropped.streamId });
    }
    this.flush(s);
  }

  private flush(s: Session): void {
    while (!s.closed && s.queue.length > 0 && s.socket.readyState === OPEN && s.socket.bufferedAmount <= this.hwm) {
      const e = s.queue.shift();
      if (e) this.write(s, e);
    }
    // The send callbacks of our pending writes re-run flush when the socket drains; if none is
    // pending (the buffer is full of someone else's bytes, e.g. a ws ping), poll instead.
    if (!s.closed && s.queue.length > 0 && s.inflight === 0 && !s.retry && s.socket.readyState === OPEN) {
      s.retry = setTimeout(() => {
        s.retry = undefined;
        this.flush(s);
      }, this.retryMs);
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
    const sentAtMs = this.now();
    const enc = e.encoded;
    const per = enc.perSend({ sentAtMs, queueDropped: s.queueDropped });
    const binary = enc.format === 'binary';
    // Two fragments of one message: no per-client copy of the shared bytes.
    const [first, last] = enc.perSendFirst ? [per, enc.shared] : [enc.shared, per];
    s.socket.send(first, { binary, fin: false });
    s.socket.send(last, { binary, fin: true }, done);
    s.heatmapsSent++;
    const m = this.metrics;
    if (m) {
      m.heatmapsSent.inc({ stream: e.streamId });
      m.e2eLatency.observe({}, Math.max(0, sentAtMs - e.captureAtMs) / 1000);
      m.stageSeconds.observe({ stage: 'send' }, Math.max(0, sentAtMs - e.doneAtMs) / 1000);
    }
  }
}

/** NaN/Infinity (a broken model) would make JSON invalid for every client: send 0 and keep going. */
function fin(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

/** A result as the protocol encoders take it; also used by offline analysis for its JSON track. */
export function toSource(r: FrameResult, c: StreamCounters): HeatmapSource {
  const f = r.frame;
  return {
    type: 'heatmap',
    streamId: r.streamId,
    frame: f.index,
    ptsMs: f.ptsMs,
    captureAtMs: f.captureAtMs,
    decodedAtMs: f.decodedAtMs,
    doneAtMs: r.doneAtMs,
    timings: { decodeMs: fin(r.timings.decodeMs), waitMs: fin(r.timings.waitMs), inferenceMs: fin(r.timings.inferenceMs) },
    grid: { h: r.gridH, w: r.gridW, values: r.heatmap },
    peak: { x: r.peak.x, y: r.peak.y, u: fin(r.peak.u), v: fin(r.peak.v), value: fin(r.peak.value) },
    sounding: r.sounding !== null && Number.isFinite(r.sounding) ? r.sounding : null,
    counters: { decoded: c.decoded, skipped: c.skipped, dropped: c.dropped, analyzed: c.analyzed },
    hasAudio: r.hasAudio,
    batchSize: r.batchSize,
    ...(f.jpeg ? { preview: f.jpeg } : {}),
  };
}

function tooManyNamed(): AvlocError {
  return new AvlocError(
    'PROTOCOL_INVALID',
    `a connection may name at most ${MAX_NAMED_STREAMS} stream ids; subscribe to "*" instead, or unsubscribe some first`,
  );
}
