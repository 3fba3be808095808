/**
 * This node's claims on stream ids (keys.ts: `<p>stream:<id>`), one per stream it runs or is
 * admitting.
 *
 *  - claim: `SET key value NX PX ttl`, atomic across the cluster; a live id elsewhere refuses the
 *    publisher. A claim this node left behind in an earlier life (same node id, a claim id it no
 *    longer holds) is taken over at once rather than waited out.
 *  - heartbeat: every claim is extended only while it is still ours (EXTEND_IF_OWNED). One that
 *    vanished (expired while Redis was unreachable, or Redis restarted empty) is claimed again;
 *    one that another node holds now is lost: the log says so and the local stream is ended.
 *  - release: compare-and-delete when the stream ends (DELETE_IF_OWNED).
 *
 * While Redis is down a publisher is admitted locally (refused only when the directory last
 * showed its id live on another node) and claimed when Redis returns, by the first heartbeat.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ClaimOutcome, SourceKind } from '../media/source.ts';
import type { StreamSummary } from '../wire/protocol.ts';
import type { ClusterStats } from './cluster-stats.ts';
import type { ClusterKeys } from './keys.ts';
import { claimValue, parseClaim } from './records.ts';
import type { RedisLink } from './redis-link.ts';
import { DELETE_IF_OWNED, EXTEND_IF_OWNED, REPLACE_IF_UNCHANGED } from './scripts.ts';

interface Entry {
  readonly id: string;
  readonly claimId: string;
  readonly value: string;
  /** reserved: a door is admitting it; live: its stream runs; lost: another node holds the id. */
  state: 'reserved' | 'live' | 'lost';
  /** True while the first claim is in flight (the heartbeat leaves it alone). */
  claiming: boolean;
  /** Whether Redis is known to hold this very value. */
  synced: boolean;
}

export interface ClaimBookOptions {
  readonly link: RedisLink;
  readonly keys: ClusterKeys;
  readonly node: string;
  readonly ttlMs: number;
  readonly stats: ClusterStats;
  readonly log: Logger;
  /** The summary written beside a claim at each heartbeat. */
  readonly summaryOf: (id: string) => StreamSummary | undefined;
  /** When the directory last showed `id` live on another node: its name (refuses while Redis is down). */
  readonly remoteHolder: (id: string) => string | undefined;
  /** Another node holds `id` now; the local stream must end. */
  readonly onLost: (id: string, holder: string) => void;
}

export class ClaimBook {
  private readonly entries = new Map<string, Entry>();
  private beating = false;

  constructor(private readonly o: ClaimBookOptions) {}

  /** The claim id under which this node holds `id`, if it does. */
  claimIdOf(id: string): string | undefined {
    return this.entries.get(id)?.claimId;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Claims `id` for a publisher a door is admitting. Never throws. */
  async claim(id: string, kind: SourceKind): Promise<ClaimOutcome> {
    if (this.entries.has(id)) return { refused: 'it is live on this node' };
    const entry = this.newEntry(id, kind, 'reserved');
    this.entries.set(id, entry);
    const outcome = await this.acquire(entry);
    entry.claiming = false;
    if (outcome !== null) {
      if (this.entries.get(id) === entry) this.entries.delete(id);
      this.o.stats.claimsRefused++;
      return { refused: outcome };
    }
    return {
      refused: null,
      release: () => {
        if (this.entries.get(id) === entry && entry.state !== 'live') this.release(id);
      },
    };
  }

  /**
   * The stream of `id` starts: its claim is the stream's now. A source no door claimed for is
   * entered as unsynced (claimed by the next heartbeat). False when the id was lost meanwhile.
   */
  confirm(id: string, kind: SourceKind): boolean {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = this.newEntry(id, kind, 'live');
      entry.claiming = false;
      this.entries.set(id, entry);
    }
    if (entry.state === 'lost') return false;
    entry.state = 'live';
    return true;
  }

  /** Gives the claim back unless its stream runs (a door's refusal after the claim). */
  abandon(id: string): void {
    const e = this.entries.get(id);
    if (e && e.state !== 'live') this.release(id);
  }

  /** Gives the claim back (the stream ended): compare-and-delete in Redis when reachable. */
  release(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    if (this.o.link.state !== 'up' || e.state === 'lost') return;   // it expires by itself
    this.o.link.cmd.eval(DELETE_IF_OWNED, 2, this.o.keys.claim(id), this.o.keys.info(id), e.value).catch((err: unknown) => {
      this.o.log.debug('claim release failed; it expires by itself', { stream: id, error: describeError(err) });
    });
  }

  /** Releases every claim (clean shutdown). */
  async releaseAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    if (this.o.link.state !== 'up') return;
    await Promise.allSettled(all.map((e) => this.o.link.cmd.eval(DELETE_IF_OWNED, 2, this.o.keys.claim(e.id), this.o.keys.info(e.id), e.value)));
  }

  /** Extends every claim that is still ours; re-claims vanished ones; reports lost ones. */
  async heartbeat(): Promise<void> {
    if (this.beating || this.o.link.state !== 'up') return;
    this.beating = true;
    try {
      await Promise.allSettled([...this.entries.values()].filter((e) => !e.claiming && e.state !== 'lost').map((e) => this.keep(e)));
    } finally {
      this.beating = false;
    }
  }

  private newEntry(id: string, kind: SourceKind, state: Entry['state']): Entry {
    const claimId = randomUUID();
    return { id, claimId, value: claimValue(this.o.node, claimId, kind, Date.now()), state, claiming: true, synced: false };
  }

  /** null when `entry` now holds the id in Redis (or Redis is away); else why not. */
  private async acquire(entry: Entry): Promise<string | null> {
    const { link, keys, ttlMs } = this.o;
    if (link.state !== 'up') return this.offline(entry);
    const key = keys.claim(entry.id);
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        if ((await link.cmd.set(key, entry.value, 'PX', ttlMs, 'NX')) === 'OK') {
          entry.synced = true;
          return null;
        }
        const held = await link.cmd.get(key);
        if (held === null) continue;   // it expired between the two commands: try again once
        if (held === entry.value) return null;
        const holder = parseClaim(held);
        if (holder && holder.node === this.o.node && !this.holdsClaimId(holder.claim)) {
          if ((await link.cmd.eval(REPLACE_IF_UNCHANGED, 1, key, held, entry.value, ttlMs)) === 1) {
            this.o.log.info('took over a claim this node left behind', { stream: entry.id });
            entry.synced = true;
            return null;
          }
          continue;
        }
        return `it is live on node ${holder?.node ?? '(unreadable claim)'}`;
      }
      return 'its claim changed hands while it was being claimed; try again';
    } catch (err) {
      this.o.log.warn('claim failed at Redis; admitting locally, claimed when Redis answers', { stream: entry.id, error: describeError(err) });
      return this.offline(entry);
    }
  }

  private offline(entry: Entry): string | null {
    const elsewhere = this.o.remoteHolder(entry.id);
    if (elsewhere !== undefined) return `it was live on node ${elsewhere} when Redis was last reachable`;
    this.o.stats.admittedOffline++;
    this.o.log.warn('redis unreachable: publisher admitted on this node only; its id is claimed when Redis returns', { stream: entry.id });
    return null;
  }

  private holdsClaimId(claimId: string): boolean {
    for (const e of this.entries.values()) if (e.claimId === claimId) return true;
    return false;
  }

  private async keep(e: Entry): Promise<void> {
    const { link, keys, ttlMs, log } = this.o;
    const summary = e.state === 'live' ? this.o.summaryOf(e.id) : undefined;
    try {
      let held = String(await link.cmd.eval(EXTEND_IF_OWNED, 2, keys.claim(e.id), keys.info(e.id), e.value, ttlMs, summary ? JSON.stringify(summary) : ''));
      if (this.entries.get(e.id) !== e) return;   // released meanwhile
      if (held === 'ok') {
        e.synced = true;
        return;
      }
      if (held === '') {
        if ((await link.cmd.set(keys.claim(e.id), e.value, 'PX', ttlMs, 'NX')) === 'OK') {
          log.info(e.synced ? 'claim had vanished from Redis; claimed again' : 'claimed after Redis returned', { stream: e.id });
          e.synced = true;
          return;
        }
        held = (await link.cmd.get(keys.claim(e.id))) ?? '';
        if (held === e.value || held === '' || this.entries.get(e.id) !== e) return;   // next heartbeat settles it
      }
      const holder = parseClaim(held)?.node ?? '(unreadable claim)';
      e.state = 'lost';
      this.o.stats.claimsLost++;
      log.warn('another node holds this stream id now (taken while this node could not reach Redis); ending the local stream', { stream: e.id, holder });
      this.o.onLost(e.id, holder);
    } catch (err) {
      log.debug('heartbeat failed for a claim', { stream: e.id, error: describeError(err) });
    }
  }
}
