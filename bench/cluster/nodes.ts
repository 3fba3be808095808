import { alive, publishRtmp, type Publisher } from '../../test/support/ffmpeg.ts';
import { waitFor } from '../../test/support/cluster.ts';
import { ServiceProcess } from '../harness/service.ts';
import { readCounters, delta, type NodeCounters } from './node-counters.ts';
import type { PhaseCounters } from './report.ts';

/**
 * The bench's cluster: avloc nodes as child processes (bench/harness/service-host.ts) on one
 * Redis, and ffmpeg test publishers. Everything it starts it also stops (`close`), a node that
 * was SIGKILLed included: its decoders are killed by pid should they outlive it.
 */
export interface NodeSettings {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly claimTtlMs: number;
  readonly heartbeatMs: number;
  readonly pollMs: number;
  readonly modelDir: string;
  readonly preview: boolean;
}

export interface BenchNode {
  readonly node: string;
  readonly service: ServiceProcess;
}

export class BenchCluster {
  private readonly nodes: BenchNode[] = [];
  private readonly publishers: Publisher[] = [];
  private readonly decoderPids = new Set<number>();

  constructor(private readonly s: NodeSettings) {}

  async start(node: string): Promise<BenchNode> {
    const s = this.s;
    const service = await ServiceProcess.start({
      model: { dir: s.modelDir, device: 'cpu', intraOpThreads: 1 },
      overrides: {
        cluster: { redis: s.redisUrl, nodeId: node, keyPrefix: s.keyPrefix, claimTtlMs: s.claimTtlMs, heartbeatMs: s.heartbeatMs, pollMs: s.pollMs },
        preview: { enabled: s.preview },
      },
    });
    const n = { node, service };
    this.nodes.push(n);
    await waitFor(`${node} to reach Redis`, async () => {
      const res = await fetch(`http://127.0.0.1:${service.httpPort}/api/health`);
      const body = (await res.json()) as { cluster?: { redis?: string } };
      return body.cluster?.redis === 'up';
    }, 30_000);
    return n;
  }

  publish(to: BenchNode, ids: readonly string[], size: string, fps: number): void {
    for (const id of ids) this.publishers.push(publishRtmp(to.service.rtmpUrl(id), { size, fps }));
  }

  /** SIGKILL of a node; its publishers and decoders go too (they would fail on their own, later). */
  async kill(n: BenchNode): Promise<void> {
    for (const pid of n.service.ffmpegPids()) this.decoderPids.add(pid);
    await n.service.kill();
  }

  /** Ends the publishers and any decoder that outlived its node. */
  async endPublishers(): Promise<void> {
    await Promise.all(this.publishers.splice(0).map((p) => p.kill()));
    for (const pid of this.decoderPids) {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    this.decoderPids.clear();
  }

  /** The counters of every node still up. */
  async counters(): Promise<Map<string, NodeCounters>> {
    const out = new Map<string, NodeCounters>();
    for (const n of this.live()) out.set(n.node, await readCounters(n.service.httpPort));
    return out;
  }

  live(): BenchNode[] {
    return this.nodes.filter((n) => n.service.running);
  }

  async close(): Promise<void> {
    await this.endPublishers();
    await Promise.allSettled(this.nodes.map((n) => n.service.close()));
  }
}

/** Each node's counters over a phase, the publishing node named. */
export function phaseCounters(phase: string, publishing: string, before: Map<string, NodeCounters>, after: Map<string, NodeCounters>): PhaseCounters[] {
  const out: PhaseCounters[] = [];
  for (const [node, a] of after) {
    const b = before.get(node);
    if (!b) continue;
    out.push({ phase, node, role: node === publishing ? 'publishing' : 'remote', counters: delta(a, b) });
  }
  return out.sort((x, y) => (x.role === y.role ? x.node.localeCompare(y.node) : x.role === 'publishing' ? -1 : 1));
}
