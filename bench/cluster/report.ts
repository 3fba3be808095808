import type { MachineInfo } from '../machine.ts';
import { table } from '../report/table.ts';
import type { ClusterBenchOptions } from './args.ts';
import type { FailoverTrial } from './failover.ts';
import { FANOUT_GRACE_MS, type FanoutRow } from './fanout-phase.ts';
import type { NodeCounters } from './node-counters.ts';
import type { InferenceResult } from './remote-inference.ts';

/**
 * One run of `npm run bench:cluster` (written as JSON) and its Markdown: the same text is printed
 * and, with --docs, written into docs/BENCHMARKS.md, so the page says what the command printed.
 */
export interface PhaseCounters {
  readonly phase: string;
  readonly node: string;
  readonly role: 'publishing' | 'remote';
  readonly counters: NodeCounters;
}

export interface Target {
  readonly what: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

export interface ClusterBenchReport {
  readonly command: string;
  readonly startedAt: string;
  finishedAt: string;
  wallS: number;
  readonly options: ClusterBenchOptions;
  /** Versions only: no host name or folders. */
  readonly machine: Omit<MachineInfo, 'host' | 'ffmpegPath'>;
  readonly loadAtStart: string;
  loadAtEnd: string;
  readonly model: { readonly dir: string; readonly name: string };
  readonly redis: string;
  readonly cluster: { readonly claimTtlMs: number; readonly heartbeatMs: number; readonly pollMs: number; readonly maxPendingMessages: number; readonly maxPendingBytes: number };
  fanout: FanoutRow[];
  counters: PhaseCounters[];
  failover: FailoverTrial[];
  inference: InferenceResult | null;
  targets: Target[];
  notes: string[];
}

const GRACE_S = FANOUT_GRACE_MS / 1000;
const f1 = (x: number | null | undefined) => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number | null | undefined) => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(2) : '—');
const f0 = (x: number | null | undefined) => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(0) : '—');
const reasons = (r: Readonly<Record<string, number>>) => {
  const parts = Object.entries(r).filter(([, n]) => n !== 0).map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? parts.join(', ') : '0';
};

export function checkTargets(r: ClusterBenchReport): Target[] {
  const out: Target[] = [];
  for (const row of r.fanout) {
    out.push({
      what: `added latency p50, ${row.nodes} nodes, subscriber on ${row.remoteNode}`,
      target: '≤ 5 ms',
      measured: `${f2(row.addedMs.p50)} ms`,
      met: row.addedMs.p50 <= 5,
    });
  }
  for (const row of r.fanout) {
    out.push({ what: `frames lost in fan-out, ${row.nodes} nodes, subscriber on ${row.remoteNode}`, target: '0', measured: `${row.lost} of ${row.localFrames}`, met: row.lost === 0 });
  }
  return out;
}

function headerSection(r: ClusterBenchReport): string {
  const m = r.machine;
  const o = r.options;
  return [
    `### Run of ${r.startedAt} (${o.quick ? 'quick' : 'full'}, ${f0(r.wallS)} s)`,
    '',
    `\`${r.command}\``,
    '',
    table(
      ['CPU', 'cores', 'memory', 'node', 'onnxruntime-node', 'ffmpeg (nodes / publisher)', 'Redis', 'load at start → end'],
      [[m.cpuModel, String(m.cores), `${m.memoryGiB} GiB`, m.node, m.onnxruntime, `${m.ffmpeg} / ${m.publisherFfmpeg}`, r.redis, `${r.loadAtStart} → ${r.loadAtEnd}`]],
    ),
    '',
    `Model \`${r.model.dir}\` (${r.model.name}) on every node. ${o.streams} test stream${o.streams > 1 ? 's' : ''} (lavfi ${o.size} at ${o.fps} fps, H.264 + AAC, live x264) ` +
      `published over RTMP to the first node; subscribers ask for ${o.preview ? 'heatmaps with JPEG previews' : 'heatmaps only (no previews)'}. ` +
      `Cluster: claimTtlMs ${r.cluster.claimTtlMs}, heartbeatMs ${r.cluster.heartbeatMs}, pollMs ${r.cluster.pollMs}, ` +
      `maxPendingMessages ${r.cluster.maxPendingMessages}, maxPendingBytes ${r.cluster.maxPendingBytes}.`,
  ].join('\n');
}

function fanoutSection(r: ClusterBenchReport): string {
  const rows = r.fanout.map((x) => [
    String(x.nodes),
    x.remoteNode,
    String(x.localFrames),
    String(x.matched),
    `${f2(x.addedMs.p50)} / ${f2(x.addedMs.p95)} / ${f2(x.addedMs.p99)}`,
    `${f2(x.addedMs.min)} / ${f2(x.addedMs.max)}`,
    String(x.lost),
    String(x.remoteOnly),
  ]);
  const counters = r.counters.map((c) => [
    c.phase,
    `${c.node} (${c.role})`,
    String(c.counters.heatmapsPublished),
    String(c.counters.heatmapsReceived),
    reasons(c.counters.fanoutDropped),
    reasons(c.counters.ignored),
    String(c.counters.clientQueueDropped),
  ]);
  return [
    '#### Fan-out: what a subscriber on another node pays',
    '',
    `One probe subscribed on the publishing node and one on each other node, all in the bench process (one clock), ` +
      `${r.options.seconds} s measured per phase after ${r.options.warmupS} s of warm-up; the remote probes stop ${GRACE_S} s after the local one, so a frame from the last moment can still cross. Added latency: arrival on the remote probe − arrival on the local probe of the same frame (stream id + frame number). ` +
      `Lost: frames the local probe got and the remote one did not. Remote only: frames the remote probe got and the local one did not (dropped on the local path).`,
    '',
    table(['nodes', 'remote subscriber on', 'frames (local)', 'matched', 'added ms p50 / p95 / p99', 'added ms min / max', 'lost', 'remote only'], rows),
    '',
    'The nodes\u2019 own counters over the same phases, measured seconds and grace included (deltas of /metrics: pub/sub heatmap messages, drops by reason, slow-client queue drops):',
    '',
    table(['phase', 'node', 'heatmaps published', 'heatmaps received', 'fan-out dropped', 'ignored', 'client queue dropped'], counters),
  ].join('\n');
}

function failoverSection(r: ClusterBenchReport): string {
  const c = r.cluster;
  const rows = r.failover.map((t) => [String(t.trial), t.killed, t.watcher, f0(t.listGoneMs), f0(t.endedMs), t.reason ?? '—']);
  const gone = r.failover.map((t) => t.listGoneMs).filter((x): x is number => x !== null);
  const range = gone.length > 0 ? `${f0(Math.min(...gone))}–${f0(Math.max(...gone))} ms` : '—';
  return [
    '#### SIGKILL of the publishing node',
    '',
    `The publishing node (a child process) is killed with SIGKILL; the other nodes are watched: their /api/streams polled every 20 ms, their probes\u2019 \`stream.ended\`. ` +
      `Configured: claim TTL ${c.claimTtlMs} ms, heartbeat ${c.heartbeatMs} ms, directory poll ${c.pollMs} ms; expected between TTL − heartbeat and TTL + poll, ` +
      `${c.claimTtlMs - c.heartbeatMs}–${c.claimTtlMs + c.pollMs} ms. Measured: ${range}.`,
    '',
    table(['trial', 'killed', 'watched on', 'gone from /api/streams ms', 'stream.ended ms', 'reason'], rows),
  ].join('\n');
}

function inferenceSection(r: ClusterBenchReport): string {
  const inf = r.inference;
  if (!inf) return '';
  const rows = inf.rows.map((x) => [
    String(x.batch),
    String(x.batches),
    `${f2(x.localMs.p50)} / ${f2(x.localMs.p99)}`,
    `${f2(x.remoteMs.p50)} / ${f2(x.remoteMs.p99)}`,
    `${f1(x.ratioP50)} / ${f1(x.ratioP99)}`,
    f2(x.remoteMs.p50 - x.localMs.p50),
    String(x.remoteFailures),
  ]);
  return [
    '#### Remote inference: overhead per batch',
    '',
    `The same batches through the service\u2019s BatchRunner (audio embeddings, visual batch, heatmaps), alternating between an in-process OrtLocalizer and a RemoteLocalizer ` +
      `against the in-repo KServe v2 server (test/support/kserve-v2-server.ts) in a child process, ${r.options.batches} batches per size and backend after 10 of warm-up. Sessions: ${inf.sessions}.`,
    '',
    table(['batch', 'batches', 'local ms p50 / p99', 'remote ms p50 / p99', 'remote ÷ local p50 / p99', 'remote − local p50 ms', 'remote failures'], rows),
  ].join('\n');
}

function targetsSection(r: ClusterBenchReport): string {
  return ['#### Targets', '', table(['what', 'target', 'measured', 'met'], r.targets.map((t) => [t.what, t.target, t.measured, t.met ? 'yes' : 'no']))].join('\n');
}

export function renderClusterMarkdown(r: ClusterBenchReport): string {
  const notes = r.notes.length > 0 ? ['#### Notes', '', ...r.notes.map((n) => `- ${n}`)].join('\n') : '';
  return [headerSection(r), targetsSection(r), fanoutSection(r), failoverSection(r), inferenceSection(r), notes].filter((s) => s !== '').join('\n\n');
}
