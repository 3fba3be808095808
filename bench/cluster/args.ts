import { parseArgs } from 'node:util';

/**
 * `npm run bench:cluster -- [--quick] [--model DIR] [--seconds S] [--kills N] [--batches N]
 * [--fps N] [--streams N] [--preview] [--claim-ttl-ms N] [--heartbeat-ms N] [--poll-ms N]
 * [--out DIR] [--docs]`. The full run takes under two minutes on a 2-core machine, --quick under one.
 */
export interface ClusterBenchOptions {
  readonly quick: boolean;
  /** Bundle folder of every node and of the inference comparison. */
  readonly model: string;
  /** Measured seconds of each fan-out phase (two nodes, then three). */
  readonly seconds: number;
  /** Seconds of each phase that are not measured (subscribers settle, first frames through). */
  readonly warmupS: number;
  /** SIGKILLs of a publishing node (each with a fresh node and publisher). */
  readonly kills: number;
  /** Batches per batch size and backend in the inference comparison. */
  readonly batches: number;
  readonly batchSizes: readonly number[];
  /** Frame rate and size of each published test stream. */
  readonly fps: number;
  readonly size: string;
  /** Streams published to the publishing node. */
  readonly streams: number;
  /** Subscribers ask for JPEG previews (they then cross Redis with every analyzed frame). */
  readonly preview: boolean;
  readonly claimTtlMs: number;
  readonly heartbeatMs: number;
  readonly pollMs: number;
  readonly outDir: string;
  readonly docs: boolean;
}

export const CLUSTER_USAGE = `npm run bench:cluster -- [options]
  --quick              about one minute: 8 s phases, one kill, 60 batches per point
  --model DIR          bundle of every node and of the inference comparison (default test/fixtures/avin-tiny-random)
  --seconds S          measured seconds per fan-out phase (default 25, quick 8)
  --kills N            SIGKILLs of the publishing node (default 2, quick 1)
  --batches N          batches per batch size and backend (default 200, quick 60)
  --fps N              frame rate of the published test streams (default 30)
  --streams N          test streams published to the first node (default 1)
  --preview            subscribers ask for JPEG previews (default: heatmaps only)
  --claim-ttl-ms N     cluster.claimTtlMs of every node (default: the config default)
  --heartbeat-ms N     cluster.heartbeatMs (default: the config default)
  --poll-ms N          cluster.pollMs (default: the config default)
  --out DIR            where cluster.json goes (default bench/out)
  --docs               also write docs/bench/cluster.json and the section of docs/BENCHMARKS.md`;

function positiveInt(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got "${raw}"`);
  return n;
}

/** `defaults` are the cluster section's defaults from the config schema. */
export function parseClusterBenchArgs(
  argv: readonly string[],
  defaults: { readonly claimTtlMs: number; readonly heartbeatMs: number; readonly pollMs: number },
): ClusterBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      model: { type: 'string' },
      seconds: { type: 'string' },
      kills: { type: 'string' },
      batches: { type: 'string' },
      fps: { type: 'string' },
      streams: { type: 'string' },
      preview: { type: 'boolean' },
      'claim-ttl-ms': { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'poll-ms': { type: 'string' },
      out: { type: 'string' },
      docs: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  return {
    quick,
    model: values.model ?? 'test/fixtures/avin-tiny-random',
    seconds: positiveInt(values.seconds, '--seconds', quick ? 8 : 25),
    warmupS: quick ? 2 : 3,
    kills: positiveInt(values.kills, '--kills', quick ? 1 : 2),
    batches: positiveInt(values.batches, '--batches', quick ? 60 : 200),
    batchSizes: [1, 4],
    fps: positiveInt(values.fps, '--fps', 30),
    size: '320x240',
    streams: positiveInt(values.streams, '--streams', 1),
    preview: values.preview === true,
    claimTtlMs: positiveInt(values['claim-ttl-ms'], '--claim-ttl-ms', defaults.claimTtlMs),
    heartbeatMs: positiveInt(values['heartbeat-ms'], '--heartbeat-ms', defaults.heartbeatMs),
    pollMs: positiveInt(values['poll-ms'], '--poll-ms', defaults.pollMs),
    outDir: values.out ?? 'bench/out',
    docs: values.docs === true,
  };
}
