/**
 * The other nodes' streams as this node's hub lists them, kept in step from two sides: the
 * `events` channel (prompt) and the directory poll (the truth; it also catches what pub/sub lost
 * while a connection was down). A stream is one claim: the same id under a new claim is a new
 * stream (the old one ends, the new one starts).
 *
 * The two sides race: a poll's reading may be older than an event that arrived while it ran. So a
 * poll ends only streams this node already knew before the poll began, and never revives a claim
 * whose `stream.ended` has been seen (ended claims are remembered, boundedly).
 */
import type { StreamSummary } from '../wire/protocol.ts';
import type { StreamEvent } from '../publish/hub-events.ts';
import type { ClusterStats, RemoteEndCause } from './cluster-stats.ts';
import type { DirectoryEntry } from './directory.ts';

/** The part of the hub this needs (src/publish/hub.ts). */
export interface RemoteHub {
  applyRemote(msg: StreamEvent, node: string): void;
  updateRemote(summary: StreamSummary): void;
  isLocal(id: string): boolean;
}

/** A stream event as another node published it (fanout-codec.ts). */
export interface RemoteEvent {
  readonly node: string;
  readonly claim: string;
  readonly event: StreamEvent;
}

interface Known {
  readonly node: string;
  readonly claim: string;
  /** When this node learned of it (a poll that began earlier cannot end it). */
  readonly seenAtMs: number;
}

const ENDED_MEMORY = 1024;

export class RemoteStreams {
  private readonly known = new Map<string, Known>();
  private readonly endedClaims = new Set<string>();

  constructor(
    private readonly hub: RemoteHub,
    private readonly self: string,
    private readonly stats: ClusterStats,
    private readonly now: () => number = Date.now,
  ) {}

  get count(): number {
    return this.known.size;
  }

  /** The node that runs `id`, as far as this node knows. */
  nodeOf(id: string): string | undefined {
    return this.known.get(id)?.node;
  }

  /** Nodes that run some stream known here. */
  nodes(): string[] {
    return [...new Set([...this.known.values()].map((k) => k.node))];
  }

  event(e: RemoteEvent): void {
    if (e.node === this.self) return;
    const msg = e.event;
    const k = this.known.get(msg.id);
    switch (msg.type) {
      case 'stream.started':
        if (this.endedClaims.has(e.claim) || this.hub.isLocal(msg.id)) return;
        if (k?.claim === e.claim) return;
        if (k) this.end(msg.id, `restarted on node ${e.node}`, 'replaced');
        this.known.set(msg.id, { node: e.node, claim: e.claim, seenAtMs: this.now() });
        this.hub.applyRemote(msg, e.node);
        return;
      case 'stream.info':
      case 'stream.error':
        if (k?.claim === e.claim) this.hub.applyRemote(msg, e.node);
        return;
      case 'stream.ended':
        this.rememberEnded(e.claim);
        if (k?.claim === e.claim) this.end(msg.id, msg.reason, 'ended');
        return;
    }
  }

  /**
   * Makes the known streams agree with a directory reading taken after `pollStartedAtMs`.
   * `alive`: the nodes whose presence key still exists (to tell a lost node from an ended stream).
   */
  reconcile(entries: readonly DirectoryEntry[], pollStartedAtMs: number, alive: ReadonlySet<string>): void {
    const seen = new Set<string>();
    for (const d of entries) {
      if (d.node === this.self || this.hub.isLocal(d.id) || this.endedClaims.has(d.claim)) continue;
      const k = this.known.get(d.id);
      if (k && k.claim !== d.claim) {
        if (k.seenAtMs >= pollStartedAtMs) {   // an event told of a newer claim than this reading
          seen.add(d.id);
          continue;
        }
        this.end(d.id, `restarted on node ${d.node}`, 'replaced');
      }
      seen.add(d.id);
      if (!this.known.has(d.id)) {
        this.known.set(d.id, { node: d.node, claim: d.claim, seenAtMs: this.now() });
        const startedAtMs = d.summary?.startedAtMs ?? d.sinceMs;
        this.hub.applyRemote({ type: 'stream.started', id: d.id, kind: d.kind, startedAtMs }, d.node);
      }
      if (d.summary) this.hub.updateRemote(d.summary);
    }
    for (const [id, k] of [...this.known]) {
      if (seen.has(id) || k.seenAtMs >= pollStartedAtMs) continue;
      if (alive.has(k.node)) this.end(id, 'ended', 'ended');
      else this.end(id, `node ${k.node} lost (its claim expired)`, 'node_lost');
    }
  }

  /** Ends every known stream (the directory cannot be read: nothing here can vouch for them). */
  endAll(reason: string, cause: RemoteEndCause): void {
    for (const id of [...this.known.keys()]) this.end(id, reason, cause);
  }

  private end(id: string, reason: string, cause: RemoteEndCause): void {
    const k = this.known.get(id);
    if (!k) return;
    this.known.delete(id);
    // A stream ended for want of a directory may well be live: when Redis returns, it comes back.
    if (cause !== 'unreachable') this.rememberEnded(k.claim);
    this.stats.remoteEnds[cause]++;
    this.hub.applyRemote({ type: 'stream.ended', id, reason }, k.node);
  }

  private rememberEnded(claim: string): void {
    if (!claim) return;
    this.endedClaims.add(claim);
    if (this.endedClaims.size > ENDED_MEMORY) {
      const oldest = this.endedClaims.values().next().value;
      if (oldest !== undefined) this.endedClaims.delete(oldest);
    }
  }
}
