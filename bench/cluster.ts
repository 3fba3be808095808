import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { describeError } from '../src/errors.ts';
import { ffmpegInfo } from '../src/media/ffmpeg-path.ts';
import { readCard } from '../src/inference/bundle.ts';
import { waitFor } from '../test/support/cluster.ts';
import { FFMPEG } from '../test/support/ffmpeg.ts';
import { findRedisServer, RedisServer } from '../test/support/redis-server.ts';
import { CLUSTER_USAGE, parseClusterBenchArgs, type ClusterBenchOptions } from './cluster/args.ts';
import { writeSection } from './cluster/docs-section.ts';
import { killAndWatch, type Watcher } from './cluster/failover.ts';
import { measureFanout } from './cluster/fanout-phase.ts';
import { sumOf } from './cluster/node-counters.ts';
import { BenchCluster, phaseCounters, type BenchNode } from './cluster/nodes.ts';
import { Probe } from './cluster/probe.ts';
import { measureRemoteInference } from './cluster/remote-inference.ts';
import { checkTargets, renderClusterMarkdown, type ClusterBenchReport } from './cluster/report.ts';
import { describeMachine, loadAverage } from './machine.ts';

/**
 * `npm run bench:cluster [-- --quick] [--docs]`: cluster mode and remote inference on one machine
 * over loopback — a real redis-server, avloc nodes as child processes, a real ffmpeg publisher:
 *   1. fan-out with two nodes, then three: latency a subscriber on another node pays over one on
 *      the publishing node, frames lost on the way, the nodes' own drop counters;
 *   2. SIGKILL of the publishing node: time until its streams leave the others' /api/streams and
 *      their subscribers get stream.ended;
 *   3. remote inference: the same batches on local onnxruntime-node and on the in-repo KServe v2
 *      server, at batch 1 and 4.
 * Prints the tables as measured, writes JSON (and with --docs its section of docs/BENCHMARKS.md).
 */
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function redisVersion(): string {
  const bin = findRedisServer();
  if (!bin) return 'not found';
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
}

async function listedOn(n: BenchNode): Promise<Array<{ id: string; node?: string }>> {
  const res = await fetch(`http://127.0.0.1:${n.service.httpPort}/api/streams`);
  return ((await res.json()) as { streams: Array<{ id: string; node?: string }> }).streams;
}

/** Until every watcher lists every id as `owner`'s and its probe has received heatmaps since. */
async function untilFlowing(owner: BenchNode, ids: readonly string[], watchers: ReadonlyArray<{ n: BenchNode; probe: Probe }>): Promise<void> {
  const since = new Map(watchers.map((w) => [w, w.probe.heatmaps]));
  await waitFor(
    `${ids.join(', ')} on ${owner.node} to reach ${watchers.map((w) => w.n.node).join(', ')}`,
    async () => {
      for (const w of watchers) {
        const list = await listedOn(w.n);
        if (!ids.every((id) => list.some((s) => s.id === id && (s.node ?? owner.node) === owner.node))) return false;
        if (w.probe.heatmaps <= (since.get(w) ?? 0) + ids.length) return false;
      }
      return true;
    },
    60_000,
    100,
  );
}

async function runCluster(o: ClusterBenchOptions, report: ClusterBenchReport, redis: RedisServer): Promise<void> {
  const cluster = new BenchCluster({
    redisUrl: redis.url,
    keyPrefix: `bench${randomBytes(3).toString('hex')}:`,
    claimTtlMs: o.claimTtlMs,
    heartbeatMs: o.heartbeatMs,
    pollMs: o.pollMs,
    modelDir: o.model,
    preview: o.preview,
  });
  const probes: Probe[] = [];
  const probe = async (n: BenchNode) => {
    const p = await Probe.connect(n.node, n.service.wsUrl, o.preview);
    probes.push(p);
    return p;
  };
  const ids = Array.from({ length: o.streams }, (_, k) => `cam${k + 1}`);
  try {
    log('bench:cluster: 1/3 fan-out, two nodes');
    const [a, b] = await Promise.all([cluster.start('node-a'), cluster.start('node-b')]);
    const [pa, pb] = await Promise.all([probe(a), probe(b)]);
    cluster.publish(a, ids, o.size, o.fps);
    await untilFlowing(a, ids, [{ n: a, probe: pa }, { n: b, probe: pb }]);
    await sleep(o.warmupS * 1000);
    let before = await cluster.counters();
    const two = await measureFanout(2, pa, [pb], o.seconds);
    report.fanout.push(...two);
    report.counters.push(...phaseCounters('2 nodes', a.node, before, await cluster.counters()));
    for (const r of two) log(`  ${r.remoteNode}: added p50 ${r.addedMs.p50.toFixed(2)} ms, p99 ${r.addedMs.p99.toFixed(2)} ms; lost ${r.lost} of ${r.localFrames}`);

    log('bench:cluster: fan-out, three nodes');
    const c = await cluster.start('node-c');
    const pc = await probe(c);
    await untilFlowing(a, ids, [{ n: c, probe: pc }]);
    await sleep(o.warmupS * 1000);
    before = await cluster.counters();
    const three = await measureFanout(3, pa, [pb, pc], o.seconds);
    report.fanout.push(...three);
    report.counters.push(...phaseCounters('3 nodes', a.node, before, await cluster.counters()));
    for (const r of three) log(`  ${r.remoteNode}: added p50 ${r.addedMs.p50.toFixed(2)} ms, p99 ${r.addedMs.p99.toFixed(2)} ms; lost ${r.lost} of ${r.localFrames}`);

    log(`bench:cluster: 2/3 SIGKILL of the publishing node (claim TTL ${o.claimTtlMs} ms, heartbeat ${o.heartbeatMs} ms, poll ${o.pollMs} ms), ${o.kills}×`);
    const watchers: Watcher[] = [
      { node: b.node, httpPort: b.service.httpPort, probe: pb },
      { node: c.node, httpPort: c.service.httpPort, probe: pc },
    ];
    const deadline = o.claimTtlMs + o.heartbeatMs + o.pollMs + 15_000;
    let victim = a;
    for (let t = 1; t <= o.kills; t++) {
      if (t > 1) {
        victim = await cluster.start(`node-a${t}`);
        cluster.publish(victim, ids, o.size, o.fps);
        await untilFlowing(victim, ids, [{ n: b, probe: pb }, { n: c, probe: pc }]);
        await sleep(1000);
      }
      const trials = await killAndWatch(t, victim, ids, watchers, deadline);
      report.failover.push(...trials);
      for (const x of trials) log(`  trial ${t}, ${x.watcher}: gone from /api/streams after ${x.listGoneMs?.toFixed(0) ?? 'never'} ms, stream.ended after ${x.endedMs?.toFixed(0) ?? 'never'} ms`);
      await cluster.endPublishers();
    }
  } finally {
    for (const p of probes) p.close();
    await cluster.close();
  }
}

function noteFigures(report: ClusterBenchReport): void {
  for (const c of report.counters) {
    const dropped = sumOf(c.counters.fanoutDropped);
    if (dropped > 0) report.notes.push(`${c.phase}: ${c.node} dropped ${dropped} pub/sub messages (${JSON.stringify(c.counters.fanoutDropped)}).`);
    if (c.counters.clientQueueDropped > 0) report.notes.push(`${c.phase}: ${c.node} dropped ${c.counters.clientQueueDropped} heatmaps from a client queue.`);
  }
  for (const r of report.fanout) {
    if (r.remoteOnly > 0) report.notes.push(`${r.nodes} nodes: ${r.remoteOnly} frames reached ${r.remoteNode} but not the local probe.`);
  }
  for (const t of report.failover) {
    if (t.listGoneMs === null || t.endedMs === null) report.notes.push(`kill ${t.trial}: ${t.watcher} did not let the streams go within the deadline.`);
  }
}

async function main(argv: string[]): Promise<void> {
  const defaults = loadConfig({ env: {} }).cluster;
  const parsed = parseClusterBenchArgs(argv, defaults);
  if (parsed === 'help') {
    process.stdout.write(`${CLUSTER_USAGE}\n`);
    return;
  }
  const o = parsed;
  const t0 = performance.now();
  const card = await readCard(o.model);
  // No host name or folders in a report that goes into the docs: versions only.
  const { host: _host, ffmpegPath: _path, ...described } = describeMachine(FFMPEG);
  const machine = { ...described, publisherFfmpeg: ffmpegInfo(FFMPEG).version };
  const report: ClusterBenchReport = {
    command: `npm run bench:cluster${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    startedAt: iso(),
    finishedAt: '',
    wallS: 0,
    options: o,
    machine,
    loadAtStart: loadAverage(),
    loadAtEnd: '',
    model: { dir: o.model, name: `${card.name} ${card.version}` },
    redis: `redis-server ${redisVersion()}`,
    cluster: { claimTtlMs: o.claimTtlMs, heartbeatMs: o.heartbeatMs, pollMs: o.pollMs, maxPendingMessages: defaults.maxPendingMessages, maxPendingBytes: defaults.maxPendingBytes },
    fanout: [],
    counters: [],
    failover: [],
    inference: null,
    targets: [],
    notes: [],
  };
  log(`bench:cluster: ${o.quick ? 'quick' : 'full'} run; model ${o.model}; load ${report.loadAtStart}`);
  const redis = await RedisServer.launch();
  try {
    await runCluster(o, report, redis);
  } finally {
    await redis.dispose();
  }
  log(`bench:cluster: 3/3 remote inference, batch ${o.batchSizes.join(' and ')}, ${o.batches} batches each`);
  report.inference = await measureRemoteInference(o.model, o.batchSizes, o.batches, log);

  report.loadAtEnd = loadAverage();
  report.finishedAt = iso();
  report.wallS = (performance.now() - t0) / 1000;
  report.targets = checkTargets(report);
  noteFigures(report);
  const markdown = renderClusterMarkdown(report);
  process.stdout.write(`${markdown}\n`);

  const json = `${JSON.stringify(report, null, 1)}\n`;
  mkdirSync(o.outDir, { recursive: true });
  const written = [join(o.outDir, 'cluster.json')];
  writeFileSync(written[0] as string, json);
  if (o.docs) {
    mkdirSync('docs/bench', { recursive: true });
    writeFileSync('docs/bench/cluster.json', json);
    writeSection(markdown);
    written.push('docs/bench/cluster.json', 'docs/BENCHMARKS.md');
  }
  log(`bench:cluster: wrote ${written.join(', ')} in ${report.wallS.toFixed(0)} s; load ${report.loadAtEnd}`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:cluster: ${describeError(err)}\n`);
    process.exit(1);
  },
);
