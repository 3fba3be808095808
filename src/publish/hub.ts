/**
 * The Hub fans analyzed frames and stream events out to subscribed WebSocket clients. It is the
 * one door the pipeline, the ws server and cluster mode talk to; the work behind it is split by
 * concern under hub/: each client's subscription (session.ts), the stream list (stream-table.ts),
 * encoding once and queueing per client (fan-out.ts), what the clients want together
 * (interest.ts).
 */
import type { FrameResult, StreamCounters } from '../pipeline/types.ts';
import { nowMs } from '../pipeline/types.ts';
import type { SourceKind } from '../media/source.ts';
import type { Logger } from '../log.ts';
import { createLogger } from '../log.ts';
import type { AvlocMetrics } from './metrics.ts';
import type { HubInterest, LocalEvent, StreamEvent } from './hub-events.ts';
import type { ControlMessage, HeatmapFormat, HeatmapSource, StreamInfo, StreamSelector, StreamState, StreamSummary } from '../wire/protocol.ts';
import { FanOut } from './hub/fan-out.ts';
import { toSource } from './hub/heatmap-source.ts';
import { interestOf } from './hub/interest.ts';
import { Listeners } from './hub/listeners.ts';
import { Session } from './hub/session.ts';
import type { ClientStats, HubClient, HubSocket } from './hub/session.ts';
import { StreamTable } from './hub/stream-table.ts';

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

export class Hub {
  private readonly sessions = new Map<number, Session>();
  private readonly streams: StreamTable;
  private readonly out: FanOut;
  private nextId = 1;
  private closed = false;
  private readonly log: Logger;
  private readonly heatmapLimit: number;
  private readonly controlLimit: number;
  private readonly metrics: AvlocMetrics | undefined;
  private readonly nodeId: string | undefined;
  private readonly taps: Listeners<[LocalEvent]>;
  private readonly interestWatchers: Listeners<[]>;

  constructor(opts: HubOptions = {}) {
    this.nodeId = opts.nodeId;
    this.log = opts.log ?? createLogger('hub');
    this.heatmapLimit = opts.heatmapQueueLimit ?? 8;
    this.controlLimit = opts.controlQueueLimit ?? 256;
    this.metrics = opts.metrics;
    this.streams = new StreamTable(opts.countersOf);
    this.out = new FanOut({
      highWaterMarkBytes: opts.highWaterMarkBytes ?? 256 * 1024,
      retryMs: opts.retryMs ?? 25,
      now: opts.now ?? nowMs,
      metrics: this.metrics,
      log: this.log,
      streams: this.streams,
      forget: (s) => this.removeClient(s),
    });
    this.taps = new Listeners(this.log, 'hub listener failed');
    this.interestWatchers = new Listeners(this.log, 'hub interest watcher failed');
    const m = this.metrics;
    const live = opts.countersOf;
    if (m && live) {
      m.registry.onCollect(() => {
        for (const id of this.streams.ids()) {
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
    s.add(streams);
    s.format = format;
    s.preview = preview;
    this.out.control(s, { type: 'streams', streams: this.listStreams().filter((st) => s.canSee(st.id)) });
    this.interestChanged();
  }

  unsubscribe(client: HubClient, streams: StreamSelector): void {
    const s = this.session(client);
    if (!s) return;
    s.remove(streams);
    this.interestChanged();
  }

  /** Sends a control message to one client (hello, pong, error), through its queue. */
  sendTo(client: HubClient, msg: ControlMessage): void {
    const s = this.session(client);
    if (s) this.out.control(s, msg);
  }

  clientStats(): ClientStats[] {
    return [...this.sessions.values()].map((s) => s.stats());
  }

  // ---- streams ------------------------------------------------------------------------------

  streamStarted(id: string, kind: SourceKind, startedAtMs: number): void {
    this.enter(id, kind, startedAtMs, this.nodeId, false);
    const msg: StreamEvent = { type: 'stream.started', id, kind, startedAtMs, ...(this.nodeId !== undefined ? { node: this.nodeId } : {}) };
    this.broadcast(id, msg);
    this.taps.call(msg);
  }

  streamInfo(info: StreamInfo): void {
    const e = this.streams.get(info.id);
    if (e?.remote) return;
    this.noteInfo(info);
    this.taps.call({ type: 'stream.info', ...info });
  }

  setStreamState(id: string, state: Exclude<StreamState, 'ended'>): void {
    const e = this.streams.get(id);
    if (e) e.state = state;
  }

  streamError(id: string, code: string, message: string): void {
    if (this.streams.get(id)?.remote) return;
    const msg: StreamEvent = { type: 'stream.error', id, code, message };
    this.broadcast(id, msg);
    this.taps.call(msg);
  }

  streamEnded(id: string, reason: string): void {
    if (this.streams.get(id)?.remote) return;
    this.leave(id, reason);
    this.taps.call({ type: 'stream.ended', id, reason });
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
    if (this.streams.hasEnded(id)) return;
    const e = this.streams.get(id);
    if (e && !e.remote) return;
    if (e) {
      e.state = 'live';
      e.hasAudio = source.hasAudio;
      e.hasVideo = true;
      e.counters = { ...source.counters };
    }
    this.out.heatmap(this.sessions.values(), source, source.captureAtMs, source.doneAtMs);
  }

  /** Whether `id` is one of this node's own live streams. */
  isLocal(id: string): boolean {
    return this.streams.isLocal(id);
  }

  /** Remote streams now listed, with the node running each. */
  remoteStreams(): Array<{ readonly id: string; readonly node: string }> {
    return this.streams.remoteStreams();
  }

  /** Summaries of this node's own streams only. */
  localStreams(): StreamSummary[] {
    return this.listStreams().filter((s) => this.isLocal(s.id));
  }

  /** Tells `fn` every local stream event and heatmap as it enters the hub; returns an unsubscribe. */
  tap(fn: (e: LocalEvent) => void): () => void {
    return this.taps.add(fn);
  }

  /** Calls `fn` (synchronously) whenever a client's subscription changes; returns an unsubscribe. */
  watchInterest(fn: () => void): () => void {
    return this.interestWatchers.add(fn);
  }

  /** What all clients together are subscribed to. */
  interest(): HubInterest {
    return interestOf(this.sessions.values());
  }

  /** Latest counters of a stream, when the pipeline has news but no result to publish. */
  updateCounters(id: string, counters: StreamCounters): void {
    const e = this.streams.get(id);
    if (e) e.counters = { ...counters };
    this.metrics?.setStreamCounters(id, counters);
  }

  listStreams(): StreamSummary[] {
    return this.streams.list();
  }

  /** The summary of one listed stream. */
  summary(id: string): StreamSummary | undefined {
    return this.streams.summary(id);
  }

  // ---- heatmaps -----------------------------------------------------------------------------

  publish(result: FrameResult, counters: StreamCounters): void {
    if (this.closed) return;
    const id = result.streamId;
    if (this.streams.hasEnded(id)) {
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
    this.out.heatmap(this.sessions.values(), source, result.frame.captureAtMs, result.doneAtMs);
    if (this.taps.size > 0 && !entry?.remote) this.taps.call({ type: 'heatmap', source });
  }

  /** Forgets every client and stream. Sockets belong to the ws server, which closes them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.taps.clear();
    this.interestWatchers.clear();
    for (const s of [...this.sessions.values()]) this.removeClient(s);
    this.streams.clear();
  }

  // ---- internals ----------------------------------------------------------------------------

  private session(client: HubClient): Session | undefined {
    return this.sessions.get(client.id);
  }

  private enter(id: string, kind: SourceKind, startedAtMs: number, node: string | undefined, remote: boolean): void {
    this.streams.enter(id, kind, startedAtMs, node, remote);
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
    this.streams.leave(id);
    this.countLocal();
    this.metrics?.forgetStream(id);
    this.broadcast(id, { type: 'stream.ended', id, reason });
  }

  /** `avloc_streams` is this node's own live streams (each node reports its own). */
  private countLocal(): void {
    if (!this.metrics) return;
    this.metrics.streams.set({}, this.streams.localCount());
  }

  private interestChanged(): void {
    this.interestWatchers.call();
  }

  private broadcast(streamId: string, msg: ControlMessage): void {
    this.out.broadcast(this.sessions.values(), streamId, msg);
  }
}
