import { summarize, type Summary } from '../stats.ts';
import type { Probe } from './probe.ts';

/**
 * One fan-out phase: a probe on the publishing node (local) and one on each other node (remote)
 * record for `seconds`; the local probe stops first and the remote ones `graceMs` later, so a
 * frame the local probe got near the end still has time to cross. Per remote node:
 *  - added latency: remote arrival − local arrival of the same frame (stream id + frame number);
 *  - lost: frames the local probe got that this remote probe never got;
 *  - remote only: frames the remote probe got (from one second in until the local probe stopped)
 *    that the local one did not: the local path dropped them, not the fan-out.
 */
export interface FanoutRow {
  readonly nodes: number;
  readonly remoteNode: string;
  readonly localFrames: number;
  readonly matched: number;
  readonly addedMs: Summary & { readonly min: number };
  readonly lost: number;
  readonly remoteOnly: number;
}

/** How long the remote probes go on recording after the local one stopped. */
export const FANOUT_GRACE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function compareProbes(nodes: number, local: Probe, remote: Probe, startedAtMs: number, localStoppedAtMs: number): FanoutRow {
  const added: number[] = [];
  let lost = 0;
  for (const [key, at] of local.arrivals) {
    const there = remote.arrivals.get(key);
    if (there === undefined) lost++;
    else added.push(there - at);
  }
  let remoteOnly = 0;
  for (const [key, at] of remote.arrivals) {
    if (at >= startedAtMs + 1000 && at <= localStoppedAtMs && !local.arrivals.has(key)) remoteOnly++;
  }
  const summary = summarize(added);
  // (min is +Infinity when nothing matched; the report prints it as —)
  return {
    nodes,
    remoteNode: remote.node,
    localFrames: local.arrivals.size,
    matched: added.length,
    addedMs: { ...summary, min: added.reduce((m, v) => Math.min(m, v), Number.POSITIVE_INFINITY) },
    lost,
    remoteOnly,
  };
}

export async function measureFanout(nodes: number, local: Probe, remotes: readonly Probe[], seconds: number, graceMs = FANOUT_GRACE_MS): Promise<FanoutRow[]> {
  const startedAtMs = performance.timeOrigin + performance.now();
  for (const p of [local, ...remotes]) p.record();
  await sleep(seconds * 1000);
  local.stop();
  const localStoppedAtMs = performance.timeOrigin + performance.now();
  await sleep(graceMs);
  for (const p of remotes) p.stop();
  return remotes.map((r) => compareProbes(nodes, local, r, startedAtMs, localStoppedAtMs));
}
