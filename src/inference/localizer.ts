import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { AvlocError } from '../errors.ts';
import { loadBundle, type OrtSession, type OrtSessionOptions } from './bundle.ts';
import { windowSamples, type ModelCard } from './model-card.ts';

/**
 * The model behind one small interface, `Localizer`: frames → feature maps, audio windows →
 * embeddings. Everything above it (batch runner, scheduler) codes against the interface, so a
 * remote inference server (Triton / KServe v2, with its own dynamic batching) can replace the
 * in-process OrtLocalizer without touching ingest or publish.
 *
 * OrtLocalizer owns the two ONNX Runtime sessions:
 *  - threads are set explicitly (intra-op default: min(4, cores), inter-op 1, sequential), so
 *    several processes or a busy decoder on the same machine are not oversubscribed by surprise;
 *  - CPU by default; `device: 'cuda'` asks for the CUDA execution provider and fails with
 *    MODEL_DEVICE_UNAVAILABLE, saying how to install it, where its binaries are missing;
 *  - input tensors are preallocated per batch size and reused (bounded: batch sizes up to
 *    `maxBatchSize`; larger batches allocate per call);
 *  - calls on one graph run one at a time (they share those buffers); `close()` is idempotent,
 *    rejects calls queued or in flight with CLOSED, and releases the sessions.
 */
export type LocalizerDevice = 'cpu' | 'cuda';

export interface Localizer {
  readonly card: ModelCard;
  /** Where the graphs run: this process (cpu, cuda) or an inference server (remote/remote-localizer.ts). */
  readonly device: LocalizerDevice | 'remote';
  /** rgb24 frames of card.visual.height × width → one [C·h·w] feature map each (C-major). */
  embedVisual(frames: readonly Uint8Array[]): Promise<Float32Array[]>;
  /** Mono windows of T = windowSeconds × sampleRate samples → one [C] embedding each. */
  embedAudio(windows: readonly Float32Array[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export interface LocalizerOptions {
  readonly device?: LocalizerDevice;
  readonly cudaDeviceId?: number;
  /** Threads inside one operator. Default min(4, available cores). */
  readonly intraOpNumThreads?: number;
  /** Threads across operators (parallel mode only). Default 1. */
  readonly interOpNumThreads?: number;
  readonly executionMode?: 'sequential' | 'parallel';
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Largest batch whose input buffers are kept for reuse. Default 16. */
  readonly maxBatchSize?: number;
}

/** How a GPU user gets the CUDA binaries this project's .npmrc skips (onnxruntime-node-install=skip). */
export const CUDA_INSTALL_HINT =
  'install the CUDA 12 execution provider binaries (this project\'s .npmrc skips them): ' +
  '`npm install --onnxruntime-node-install=cuda12` or `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install` ' +
  '(on an existing checkout: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`); ' +
  'the machine also needs an NVIDIA driver, CUDA 12 and cuDNN 9. Or run with device "cpu".';

/** Where onnxruntime-node keeps its native libraries for this platform. */
function ortBinFolder(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

/** Checked before asking ORT, whose own error is only "Failed to load shared library". */
function assertCudaInstalled(): void {
  if (process.platform === 'win32' && process.arch === 'x64') return; // bundled there; ORT decides
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new AvlocError('MODEL_DEVICE_UNAVAILABLE', `device "cuda": onnxruntime-node has no CUDA execution provider for ${process.platform}/${process.arch}; use device "cpu"`);
  }
  const bin = ortBinFolder();
  const missing = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'].filter((f) => !existsSync(join(bin, f)));
  if (missing.length > 0) {
    throw new AvlocError('MODEL_DEVICE_UNAVAILABLE', `device "cuda": ${missing.join(', ')} not found in ${bin}; ${CUDA_INSTALL_HINT}`);
  }
}

interface InputSlot {
  readonly data: Uint8Array | Float32Array;
  readonly tensor: ort.Tensor;
}

/** One graph: its session, its reusable inputs, and a one-at-a-time lane. */
class Graph {
  private lane: Promise<unknown> = Promise.resolve();
  private readonly inputs = new Map<number, InputSlot>();

  constructor(
    readonly session: OrtSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly type: 'uint8' | 'float32',
    /** Per-item input dims without the batch: [H, W, 3] or [T]. */
    private readonly itemDims: readonly number[],
    private readonly maxCached: number,
  ) {}

  get itemSize(): number {
    return this.itemDims.reduce((a, b) => a * b, 1);
  }

  /** Queues a run behind the previous ones; `isClosed` is checked before and after ORT. */
  run(items: readonly (Uint8Array | Float32Array)[], isClosed: () => boolean): Promise<Float32Array> {
    const go = async (): Promise<Float32Array> => {
      if (isClosed()) throw new AvlocError('CLOSED', 'localizer is closed');
      const slot = this.slot(items.length);
      const n = this.itemSize;
      items.forEach((item, i) => slot.data.set(item, i * n));
      const out = await this.session.run({ [this.inputName]: slot.tensor }, [this.outputName]);
      if (isClosed()) throw new AvlocError('CLOSED', 'localizer closed while this batch was running');
      const t = out[this.outputName];
      if (!t || t.type !== 'float32') throw new AvlocError('INTERNAL', `ORT returned no float32 "${this.outputName}"`);
      return t.data as Float32Array;
    };
    const result = this.lane.then(go, go);
    this.lane = result.catch(() => undefined);
    return result;
  }

  /** Resolves when everything queued so far has finished. */
  drained(): Promise<void> {
    return this.lane.then(() => undefined);
  }

  private slot(batch: number): InputSlot {
    const cached = this.inputs.get(batch);
    if (cached) return cached;
    const size = batch * this.itemSize;
    const data = this.type === 'uint8' ? new Uint8Array(size) : new Float32Array(size);
    const slot = { data, tensor: new ort.Tensor(this.type, data, [batch, ...this.itemDims]) };
    if (batch <= this.maxCached) this.inputs.set(batch, slot);
    return slot;
  }
}

export class OrtLocalizer implements Localizer {
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly card: ModelCard,
    readonly device: LocalizerDevice,
    private readonly visual: Graph,
    private readonly audio: Graph,
    /** Load-time warnings from the bundle check, for the caller to log. */
    readonly warnings: readonly string[],
  ) {}

  static async open(dir: string, opts: LocalizerOptions = {}): Promise<OrtLocalizer> {
    const device = opts.device ?? 'cpu';
    if (device === 'cuda') assertCudaInstalled();
    const sessionOptions: OrtSessionOptions = {
      executionProviders: device === 'cuda' ? [{ name: 'cuda', deviceId: opts.cudaDeviceId ?? 0 }, 'cpu'] : ['cpu'],
      intraOpNumThreads: opts.intraOpNumThreads ?? Math.min(4, availableParallelism()),
      interOpNumThreads: opts.interOpNumThreads ?? 1,
      executionMode: opts.executionMode ?? 'sequential',
      graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
      // ORT's pool threads spin between operators by default, waiting for the next one. Here they
      // share the cores with the decoders and the event loop, which the spinning starves, and a
      // parallel operator then waits for its preempted thread. Measured (full-size AVIN-RN, 2
      // threads, 2 cores, bench saturation): 14.0 -> 19.5 heatmaps/s at 1 stream, 8.4 -> 10.1 at 4
      // with spinning off; the model alone was as fast either way (26.6 / 26.8 frames/s).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    };
    let bundle;
    try {
      bundle = await loadBundle(dir, sessionOptions);
    } catch (err) {
      if (device === 'cuda' && err instanceof AvlocError && err.code === 'MODEL_DEVICE_UNAVAILABLE') {
        throw new AvlocError('MODEL_DEVICE_UNAVAILABLE', `${err.message}; ${CUDA_INSTALL_HINT}`, { cause: err });
      }
      throw err;
    }
    const { card } = bundle;
    const max = opts.maxBatchSize ?? 16;
    const visual = new Graph(bundle.visual, card.visual.input, card.visual.output, 'uint8', [card.visual.height, card.visual.width, 3], max);
    const audio = new Graph(bundle.audio, card.audio.input, card.audio.output, 'float32', [windowSamples(card)], max);
    return new OrtLocalizer(card, device, visual, audio, bundle.warnings);
  }

  async embedVisual(frames: readonly Uint8Array[]): Promise<Float32Array[]> {
    this.assertOpen();
    if (frames.length === 0) return [];
    const n = this.visual.itemSize;
    frames.forEach((f, i) => {
      if (f.length !== n) {
        throw new AvlocError('INTERNAL', `embedVisual: frame ${i} has ${f.length} bytes, the model needs ${this.card.visual.width}×${this.card.visual.height}×3 = ${n}`);
      }
    });
    const out = await this.visual.run(frames, () => this.closed);
    const { channels, grid } = this.card.visual;
    return split(out, frames.length, channels * grid[0] * grid[1]);
  }

  async embedAudio(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    this.assertOpen();
    if (windows.length === 0) return [];
    const n = this.audio.itemSize;
    windows.forEach((w, i) => {
      if (w.length !== n) throw new AvlocError('INTERNAL', `embedAudio: window ${i} has ${w.length} samples, the model needs ${n}`);
    });
    const out = await this.audio.run(windows, () => this.closed);
    return split(out, windows.length, this.card.audio.channels);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        await Promise.all([this.visual.drained(), this.audio.drained()]);
        await Promise.allSettled([this.visual.session.release(), this.audio.session.release()]);
      })();
    }
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closed) throw new AvlocError('CLOSED', 'localizer is closed');
  }
}

/** Per-item views into one batch output (no copies; the batch output stays alive with them). */
function split(data: Float32Array, batch: number, itemSize: number): Float32Array[] {
  if (data.length !== batch * itemSize) {
    throw new AvlocError('INTERNAL', `ORT returned ${data.length} values for a batch of ${batch} × ${itemSize}`);
  }
  return Array.from({ length: batch }, (_, i) => data.subarray(i * itemSize, (i + 1) * itemSize));
}
