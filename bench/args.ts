import { parseArgs } from 'node:util';
import { HEAVY_DIR } from './harness/heavy-model.ts';

/**
 * `npm run bench -- [--quick] [--model DIR] [--device cpu|cuda] [--out DIR] [--only PARTS]
 * [--streams 1,2,4] [--duration S] [--soak S] [--docs]`. Quick mode trades coverage for a run under
 * five minutes; every choice it makes is written into the report so the numbers say what they are.
 */
export type Part = 'ceiling' | 'saturation' | 'fair' | 'soak' | 'naive';
export const ALL_PARTS: readonly Part[] = ['ceiling', 'saturation', 'fair', 'soak', 'naive'];

export interface BenchOptions {
  readonly quick: boolean;
  /** Explicit bundle folder, or null for the service's default (with the fixture as fallback). */
  readonly model: string | null;
  readonly device: 'cpu' | 'cuda';
  /** ORT intra-op threads for the service and the ceiling; null keeps the service's default. */
  readonly intraOpThreads: number | null;
  /** model.worker for the service (inference in a worker thread); null keeps the service's default. */
  readonly worker: boolean | null;
  /** Run the service with JPEG previews off (they cost about as much CPU as the decode itself). */
  readonly noPreview: boolean;
  /** Service config pipeline.maxFpsPerStream (null: the service's default). */
  readonly maxFps: number | null;
  /** Service config pipeline.maxBatch (null: the service's default). */
  readonly maxBatch: number | null;
  /** Service config pipeline.adaptiveRate = false (decode every frame, skip late). */
  readonly noAdaptiveRate: boolean;
  /** Service config pipeline.adaptiveBatch = false (batches up to pipeline.maxBatch). */
  readonly noAdaptiveBatch: boolean;
  readonly outDir: string;
  readonly parts: readonly Part[];
  /** Stream counts for the saturation sweep. */
  readonly streams: readonly number[];
  /** Measured seconds per saturation step (after warm-up). */
  readonly durationS: number;
  /** Seconds the soak lasts. */
  readonly soakS: number;
  /** Seconds of each end of the soak compared with each other. */
  readonly soakWindowS: number;
  /** Streams in the soak. */
  readonly soakStreams: number;
  /** Seconds between the soak's churn rounds (a publisher and a client come and go). */
  readonly soakReconnectS: number;
  /** Seconds the naive reference runs. */
  readonly naiveS: number;
  /** Batch sizes of the ceiling. */
  readonly batches: readonly number[];
  /** Seconds measured per ceiling batch size (per graph). */
  readonly ceilingS: number;
  /** Seconds the fair ceiling's decode-only run measures per stream count. */
  readonly decodeOnlyS: number;
  /** The heavy regime's bundle (ceiling, saturation and fair ceiling again), or null for none. */
  readonly heavy: string | null;
  /** Stream counts and batch sizes of the heavy regime (its frames cost more, so fewer in quick mode). */
  readonly heavyStreams: readonly number[];
  readonly heavyBatches: readonly number[];
  /** Also write docs/BENCHMARKS.md and docs/bench/*. */
  readonly docs: boolean;
}

export const USAGE = `npm run bench -- [options]
  --quick              short run (< 5 min): fewer stream counts, short steps, 60 s soak
  --model DIR          model bundle (default: the service's default, else the tiny fixture)
  --device cpu|cuda    passed through to the service and the ceiling sessions
  --intra-op-threads N ORT threads per operator, for the service and the ceiling (default: the service's)
  --worker, --no-worker  service inference in a worker thread or on the event loop (default: the service's)
  --no-preview         service config preview.enabled = false (default: the service's default, on)
  --max-fps N          service config pipeline.maxFpsPerStream = N (analyzed frames per second per stream)
  --max-batch N        service config pipeline.maxBatch = N (largest batch across streams)
  --no-adaptive-rate   service config pipeline.adaptiveRate = false (every frame decoded, late ones skipped)
  --no-adaptive-batch  service config pipeline.adaptiveBatch = false (batches up to pipeline.maxBatch)
  --out DIR            where JSON, Markdown and SVG go (default bench/out)
  --only LIST          comma-separated parts: ceiling,saturation,fair,soak,naive (fair needs saturation)
  --heavy DIR          the heavy regime's bundle (default: the full-size AVIN-RN with random weights,
                       exported once into ${HEAVY_DIR} by the model toolkit)
  --no-heavy           measure the default model only
  --streams LIST       stream counts for the saturation sweep (e.g. 1,2,4)
  --duration S         measured seconds per saturation step
  --soak S             soak seconds
  --docs               also write docs/BENCHMARKS.md and docs/bench/`;

function numberList(raw: string, flag: string): number[] {
  const out = raw.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${flag}: expected positive integers, got "${raw}"`);
  return out;
}

function positive(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got "${raw}"`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      model: { type: 'string' },
      device: { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'no-preview': { type: 'boolean' },
      'max-fps': { type: 'string' },
      'max-batch': { type: 'string' },
      'no-adaptive-rate': { type: 'boolean' },
      'no-adaptive-batch': { type: 'boolean' },
      worker: { type: 'boolean' },
      'no-worker': { type: 'boolean' },
      out: { type: 'string' },
      only: { type: 'string' },
      streams: { type: 'string' },
      duration: { type: 'string' },
      soak: { type: 'string' },
      heavy: { type: 'string' },
      'no-heavy': { type: 'boolean' },
      docs: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const device = values.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new Error(`--device: expected cpu or cuda, got "${device}"`);
  let parts: Part[] = [...ALL_PARTS];
  if (values.only !== undefined) {
    parts = values.only.split(',').map((s) => s.trim()) as Part[];
    const bad = parts.filter((p) => !ALL_PARTS.includes(p));
    if (bad.length > 0) throw new Error(`--only: unknown part(s) ${bad.join(', ')}; known: ${ALL_PARTS.join(', ')}`);
  }
  const soakS = positive(values.soak, '--soak', quick ? 45 : 600);
  return {
    quick,
    model: values.model ?? null,
    device,
    intraOpThreads: values['intra-op-threads'] !== undefined ? positive(values['intra-op-threads'], '--intra-op-threads', 0) : null,
    noPreview: values['no-preview'] === true,
    maxFps: values['max-fps'] !== undefined ? positive(values['max-fps'], '--max-fps', 0) : null,
    maxBatch: values['max-batch'] !== undefined ? positive(values['max-batch'], '--max-batch', 0) : null,
    noAdaptiveRate: values['no-adaptive-rate'] === true,
    noAdaptiveBatch: values['no-adaptive-batch'] === true,
    worker: values['no-worker'] ? false : values.worker ? true : null,
    outDir: values.out ?? 'bench/out',
    parts,
    // 16 publishers of 720p30 on 2 cores is the point where the sweep itself melts the machine; the
    // quick run stops at 8 and the full one goes to 16 so the saturation knee shows.
    streams: values.streams !== undefined ? numberList(values.streams, '--streams') : quick ? [1, 2, 4, 8] : [1, 2, 4, 8, 16],
    durationS: positive(values.duration, '--duration', quick ? 8 : 40),
    soakS,
    // The full soak compares the first minute with the last; quick soaks compare quarter-length ends.
    soakWindowS: Math.min(quick ? 15 : 60, soakS / 4),
    soakStreams: 4,
    // A stream's whole life and a client's, again and again: what leaks shows up between the ends.
    soakReconnectS: quick ? 15 : 60,
    naiveS: quick ? 15 : 60,
    batches: [1, 2, 4, 8, 16],
    ceilingS: quick ? 1.5 : 6,
    decodeOnlyS: quick ? 4 : 20,
    heavy: values['no-heavy'] ? null : (values.heavy ?? HEAVY_DIR),
    heavyStreams: values.streams !== undefined ? numberList(values.streams, '--streams') : quick ? [1, 4] : [1, 2, 4, 8],
    heavyBatches: quick ? [1, 2, 4] : [1, 2, 4, 8, 16],
    docs: values.docs === true,
  };
}
