import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AvlocError } from '../errors.ts';
import type { Localizer, LocalizerDevice, LocalizerOptions } from './localizer.ts';
import type { FromWorker, Graph, ToWorker, WireError, WorkerInit } from './localizer-worker-protocol.ts';
import { windowSamples, type ModelCard } from './model-card.ts';
import type { ThreadChoice } from './thread-choice.ts';

/**
 * A Localizer whose OrtLocalizer lives in a worker thread. onnxruntime-node runs session.run
 * synchronously on the calling thread, so in-process inference at saturation blocks the one
 * event loop that also relays RTMP and reads the decoders' pipes; here it blocks the worker.
 *
 *  - Each call copies its inputs into one contiguous buffer and transfers it (the callers'
 *    buffers stay theirs: previews and other consumers may still hold them); results come back
 *    as one transferred Float32Array per batch, split into per-item views.
 *  - Calls are not queued here: the worker's OrtLocalizer runs one call per graph at a time,
 *    and the callers (BatchRunner) bound how many are in flight.
 *  - An error in the worker rejects that call with the same code and message. A worker that
 *    crashes or exits rejects every call in flight and every later one with INTERNAL, and
 *    calls `onExit` once so the service can log it.
 *  - `close()` is idempotent: it rejects calls in flight with CLOSED, lets the worker release
 *    its sessions, and waits for the thread to end (terminating it after `closeTimeoutMs`).
 *  - The worker keeps the process alive only while a call is in flight, so a forgotten
 *    close() cannot hang an exiting process.
 */
export interface WorkerLocalizerOptions extends LocalizerOptions {
  /** Called once if the worker dies while open (not on close()). */
  readonly onExit?: (err: AvlocError) => void;
  /** How long close() waits for the worker to release its sessions before terminating it. Default 5000. */
  readonly closeTimeoutMs?: number;
}

const BOOT = new URL('./localizer-worker-boot.mjs', import.meta.url);

interface Pending {
  readonly resolve: (out: Float32Array[]) => void;
  readonly reject: (err: AvlocError) => void;
  readonly itemSize: number;
}

function fromWire(e: WireError): AvlocError {
  return new AvlocError(e.code, e.message);
}

export class WorkerLocalizer implements Localizer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set once the worker is gone for good: every later call rejects with it. */
  private dead: AvlocError | undefined;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly card: ModelCard,
    readonly device: LocalizerDevice,
    /** Load-time warnings from the bundle check, for the caller to log. */
    readonly warnings: readonly string[],
    /** The intra-op thread count measured at start, when it was left to us (else null). */
    readonly threadChoice: ThreadChoice | null,
    private readonly opts: WorkerLocalizerOptions,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (err) => this.die(`inference worker failed: ${err.message}`));
    worker.on('messageerror', (err) => this.die(`inference worker sent an unreadable message: ${err.message}`));
    worker.on('exit', (code) => this.die(`inference worker exited (code ${code})`));
    worker.unref();
  }

  /** Opens the bundle in a new worker; load errors surface exactly as from OrtLocalizer.open(). */
  static async open(dir: string, opts: WorkerLocalizerOptions = {}): Promise<WorkerLocalizer> {
    const { onExit: _onExit, closeTimeoutMs: _closeTimeoutMs, ...ortOpts } = opts;
    // Unset on the CPU: measured per model at start (thread-choice.ts). On CUDA the threads only
    // feed the GPU, so leave the event loop a core: one fewer than OrtLocalizer's min(4, cores).
    const choose = ortOpts.intraOpNumThreads === undefined && (ortOpts.device ?? 'cpu') === 'cpu';
    const intraOpNumThreads = ortOpts.intraOpNumThreads ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    const init: WorkerInit = { dir, opts: choose ? ortOpts : { ...ortOpts, intraOpNumThreads }, chooseThreads: choose };
    const worker = new Worker(BOOT, { workerData: init });
    const first = await new Promise<FromWorker>((resolve, reject) => {
      const onExit = (code: number) => reject(new AvlocError('INTERNAL', `inference worker exited (code ${code}) while loading ${dir}`));
      const onError = (err: Error) => reject(new AvlocError('INTERNAL', `inference worker failed while loading ${dir}: ${err.message}`, { cause: err }));
      worker.once('exit', onExit);
      worker.once('error', onError);
      worker.once('message', (msg: FromWorker) => {
        worker.off('exit', onExit);
        worker.off('error', onError);
        resolve(msg);
      });
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    if (first.type === 'open-failed') {
      await worker.terminate();
      throw fromWire(first.error);
    }
    if (first.type !== 'ready') {
      await worker.terminate();
      throw new AvlocError('INTERNAL', `inference worker sent "${first.type}" before it was ready`);
    }
    return new WorkerLocalizer(worker, first.card, first.device, first.warnings, first.threadChoice, opts);
  }

  embedVisual(frames: readonly Uint8Array[]): Promise<Float32Array[]> {
    const { width, height, channels, grid } = this.card.visual;
    const n = width * height * 3;
    for (const [i, f] of frames.entries()) {
      if (f.length !== n) {
        return Promise.reject(new AvlocError('INTERNAL', `embedVisual: frame ${i} has ${f.length} bytes, the model needs ${width}×${height}×3 = ${n}`));
      }
    }
    return this.call('visual', frames, new Uint8Array(frames.length * n), n, channels * grid[0] * grid[1]);
  }

  embedAudio(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    const n = windowSamples(this.card);
    for (const [i, w] of windows.entries()) {
      if (w.length !== n) return Promise.reject(new AvlocError('INTERNAL', `embedAudio: window ${i} has ${w.length} samples, the model needs ${n}`));
    }
    return this.call('audio', windows, new Float32Array(windows.length * n), n, this.card.audio.channels);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.failAll(new AvlocError('CLOSED', 'localizer closed while this batch was running'));
        if (!this.dead) {
          this.dead = new AvlocError('CLOSED', 'localizer is closed');
          this.post({ type: 'close' });
          const timeout = this.opts.closeTimeoutMs ?? 5000;
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeout)));
          const how = await Promise.race([this.exited, late]);
          clearTimeout(timer);
          if (how === 'late') await this.worker.terminate();
        }
        await this.exited;
      })();
    }
    return this.closing;
  }

  /** Test hook: makes the worker exit as a crash would. */
  crashForTest(): void {
    this.post({ type: 'crash' });
  }

  private call<T extends Uint8Array | Float32Array>(
    graph: Graph,
    items: readonly T[],
    flat: T,
    n: number,
    itemSize: number,
  ): Promise<Float32Array[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (items.length === 0) return Promise.resolve([]);
    items.forEach((item, i) => flat.set(item, i * n));
    const id = this.nextId++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, itemSize });
      if (this.pending.size === 1) this.worker.ref();
      const data = flat.buffer as ArrayBuffer;
      this.post({ type: 'embed', id, graph, count: items.length, data }, [data]);
    });
  }

  private post(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(msg, transfer);
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    return p;
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'result') {
      const p = this.settle(msg.id);
      if (!p) return; // already rejected by close()
      const data = new Float32Array(msg.data);
      if (data.length !== msg.count * p.itemSize) {
        p.reject(new AvlocError('INTERNAL', `inference worker returned ${data.length} values for a batch of ${msg.count} × ${p.itemSize}`));
        return;
      }
      p.resolve(Array.from({ length: msg.count }, (_, i) => data.subarray(i * p.itemSize, (i + 1) * p.itemSize)));
    } else if (msg.type === 'failed') {
      this.settle(msg.id)?.reject(fromWire(msg.error));
    }
  }

  private failAll(err: AvlocError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.worker.unref();
    for (const p of all) p.reject(err);
  }

  /** The worker is gone (or broken) while open: reject everything now and later. */
  private die(why: string): void {
    if (this.dead) return; // closed, or already reported
    this.dead = new AvlocError('INTERNAL', `${why}; inference is unavailable until the service restarts`);
    this.failAll(this.dead);
    this.opts.onExit?.(this.dead);
    void this.worker.terminate();
  }
}
