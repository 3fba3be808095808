/**
 * The streams the hub lists: this node's own and, in cluster mode, other nodes' (src/cluster/).
 * It answers the stream list and one stream's summary, and remembers recently ended ids, so a
 * result still in flight when its stream ends is dropped instead of reaching clients after the
 * stream's `stream.ended`.
 */
import type { StreamCounters } from '../../pipeline/types.ts';
import type { SourceKind } from '../../media/source.ts';
import type { StreamState, StreamSummary } from '../../wire/protocol.ts';

export interface StreamEntry {
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

export class StreamTable {
  private readonly streams = new Map<string, StreamEntry>();
  /** Recently ended stream ids (bounded, oldest forgotten first). */
  private readonly ended = new Set<string>();
  private static readonly ENDED_MEMORY = 256;

  constructor(
    /** Live counters of a local stream, read at list time (see HubOptions.countersOf). */
    private readonly countersOf: ((streamId: string) => Readonly<StreamCounters> | undefined) | undefined,
  ) {}

  get(id: string): StreamEntry | undefined {
    return this.streams.get(id);
  }

  ids(): IterableIterator<string> {
    return this.streams.keys();
  }

  /** Ended a short while ago: what still arrives for it is late. */
  hasEnded(id: string): boolean {
    return this.ended.has(id);
  }

  /** Lists a stream that starts (again: an ended id that comes back is no longer ended). */
  enter(id: string, kind: SourceKind, startedAtMs: number, node: string | undefined, remote: boolean): void {
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
  }

  /** Unlists a stream and remembers it ended. */
  leave(id: string): void {
    this.streams.delete(id);
    this.ended.add(id);
    if (this.ended.size > StreamTable.ENDED_MEMORY) {
      const oldest = this.ended.values().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
  }

  /** Whether `id` is one of this node's own live streams. */
  isLocal(id: string): boolean {
    const e = this.streams.get(id);
    return e !== undefined && !e.remote;
  }

  /** How many of the listed streams are this node's own. */
  localCount(): number {
    let n = 0;
    for (const e of this.streams.values()) if (!e.remote) n++;
    return n;
  }

  /** Remote streams now listed, with the node running each. */
  remoteStreams(): Array<{ readonly id: string; readonly node: string }> {
    const out: Array<{ id: string; node: string }> = [];
    for (const e of this.streams.values()) if (e.remote) out.push({ id: e.id, node: e.node ?? '' });
    return out;
  }

  list(): StreamSummary[] {
    return [...this.streams.values()].map((e) => this.summarize(e));
  }

  summary(id: string): StreamSummary | undefined {
    const e = this.streams.get(id);
    return e ? this.summarize(e) : undefined;
  }

  clear(): void {
    this.streams.clear();
    this.ended.clear();
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
}
