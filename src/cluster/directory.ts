/**
 * Reads the cluster's stream directory: every claim key (SCAN, never KEYS: Redis keeps serving
 * others meanwhile) with its claim and the summary its node wrote beside it.
 */
import type { Redis } from 'ioredis';
import type { SourceKind } from '../media/source.ts';
import type { StreamSummary } from '../wire/protocol.ts';
import type { ClusterKeys } from './keys.ts';
import { parseClaim, parseNode, parseSummary } from './records.ts';

export interface DirectoryEntry {
  readonly id: string;
  readonly node: string;
  readonly claim: string;
  readonly kind: SourceKind;
  readonly sinceMs: number;
  /** The node's latest summary, once its first heartbeat wrote one. */
  readonly summary: StreamSummary | null;
}

export interface DirectorySnapshot {
  readonly entries: DirectoryEntry[];
  /** More claims than `limit`: the rest were not read. */
  readonly truncated: boolean;
}

const BATCH = 500;

export async function readDirectory(cmd: Redis, keys: ClusterKeys, limit = 10_000): Promise<DirectorySnapshot> {
  const found = new Set<string>();
  let cursor = '0';
  let truncated = false;
  do {
    const [next, batch] = await cmd.scan(cursor, 'MATCH', keys.claimPattern, 'COUNT', BATCH);
    cursor = next;
    for (const k of batch) found.add(k);   // SCAN may return a key twice
    if (found.size >= limit) {
      truncated = cursor !== '0';
      break;
    }
  } while (cursor !== '0');
  const ids = [...found].map((k) => keys.idOfClaim(k)).filter((id): id is string => id !== null).slice(0, limit);
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < ids.length; i += BATCH) {
    const part = ids.slice(i, i + BATCH);
    const [claims, infos] = await Promise.all([cmd.mget(part.map((id) => keys.claim(id))), cmd.mget(part.map((id) => keys.info(id)))]);
    part.forEach((id, j) => {
      const c = parseClaim(claims[j]);
      if (!c) return;   // expired between SCAN and MGET, or unreadable
      const s = parseSummary(infos[j]);
      entries.push({ id, node: c.node, claim: c.claim, kind: c.kind, sinceMs: c.sinceMs, summary: s && s.id === id ? s : null });
    });
  }
  return { entries, truncated };
}

/** Which of `nodes` still have a presence key (a node whose key expired is lost). */
export async function liveNodes(cmd: Redis, keys: ClusterKeys, nodes: readonly string[]): Promise<Set<string>> {
  const alive = new Set<string>();
  if (nodes.length === 0) return alive;
  const values = await cmd.mget(nodes.map((n) => keys.node(n)));
  nodes.forEach((n, i) => {
    if (parseNode(values[i])?.node === n) alive.add(n);
  });
  return alive;
}
