import { nowMs } from '../../src/pipeline/types.ts';
import type { ServiceProcess } from '../harness/service.ts';
import type { Probe } from './probe.ts';

/**
 * SIGKILL of the node running the streams, and how long until each other node lets them go:
 * until none of them is in that node's /api/streams (polled every POLL_EVERY_MS), and until its
 * probe has received `stream.ended` for each. Both are measured from just before the signal.
 * A dead node's claims expire after what remains of their TTL since its last heartbeat, and the
 * other nodes see that at their next directory poll: between claimTtl − heartbeat and
 * claimTtl + poll (plus a command's round trip).
 */
export interface FailoverTrial {
  readonly trial: number;
  readonly killed: string;
  readonly watcher: string;
  /** ms from SIGKILL until the last stream left the watcher's /api/streams; null: not within the deadline. */
  readonly listGoneMs: number | null;
  /** ms from SIGKILL until the watcher's probe had `stream.ended` for every stream; null: not within the deadline. */
  readonly endedMs: number | null;
  readonly reason: string | null;
}

export interface Watcher {
  readonly node: string;
  readonly httpPort: number;
  readonly probe: Probe;
}

const POLL_EVERY_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listed(httpPort: number): Promise<string[] | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/streams`);
    const body = (await res.json()) as { streams: Array<{ id: string }> };
    return body.streams.map((s) => s.id);
  } catch {
    return null;
  }
}

async function watch(w: Watcher, ids: readonly string[], killedAtMs: number, deadlineMs: number): Promise<{ listGoneMs: number | null; endedMs: number | null; reason: string | null }> {
  let listGoneMs: number | null = null;
  let endedMs: number | null = null;
  let reason: string | null = null;
  while (nowMs() < deadlineMs && (listGoneMs === null || endedMs === null)) {
    if (listGoneMs === null) {
      const now = await listed(w.httpPort);
      const at = nowMs();
      if (now !== null && !ids.some((id) => now.includes(id))) listGoneMs = at - killedAtMs;
    }
    if (endedMs === null) {
      const ends = ids.map((id) => w.probe.ended.get(id)).filter((e) => e !== undefined && e.atMs >= killedAtMs);
      if (ends.length === ids.length) {
        endedMs = Math.max(...ends.map((e) => e!.atMs)) - killedAtMs;
        reason = ends[0]?.reason ?? null;
      }
    }
    await sleep(POLL_EVERY_MS);
  }
  return { listGoneMs, endedMs, reason };
}

export async function killAndWatch(
  trial: number,
  victim: { readonly node: string; readonly service: ServiceProcess },
  ids: readonly string[],
  watchers: readonly Watcher[],
  timeoutMs: number,
): Promise<FailoverTrial[]> {
  for (const w of watchers) for (const id of ids) w.probe.ended.delete(id);
  const killedAtMs = nowMs();
  const killed = victim.service.kill();
  const seen = await Promise.all(watchers.map((w) => watch(w, ids, killedAtMs, killedAtMs + timeoutMs)));
  await killed;
  return watchers.map((w, i) => ({ trial, killed: victim.node, watcher: w.node, ...seen[i]! }));
}
