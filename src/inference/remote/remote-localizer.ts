import { AvlocError } from '../../errors.ts';
import type { Localizer } from '../localizer.ts';
import type { ModelCard } from '../model-card.ts';
import { itemSize, remoteGraphSpecs, responseByteBudget, type RemoteGraphSpec } from './graph-specs.ts';
import { emptyRemoteStats, type RemoteStats } from './remote-stats.ts';
import { checkRemoteModels, describeErrorReply, modelPath } from './startup-checks.ts';
import { inferRequestBody, readInferOutput } from './tensor-json.ts';
import { V2Http } from './v2-http.ts';

/**
 * A Localizer whose two graphs run on a KServe v2 / Open Inference Protocol server (Triton, or
 * any server of that protocol) over HTTP/REST with JSON tensors. It takes the same batches and
 * returns the same outputs as OrtLocalizer: per item, a [C·h·w] feature map or a [C] embedding,
 * as views into one batch output. The card comes from the bundle's model.json; `open` checks the
 * server's models against it before any batch goes out (startup-checks.ts).
 *
 * Bounds, per node:
 *  - at most `maxInFlight` requests out at once; a call past it is refused at once with
 *    AT_CAPACITY and counted (`refused`), never queued;
 *  - each request has `timeoutMs` from start to parsed answer; a late one is aborted, fails with
 *    INFERENCE_TIMEOUT and is counted (`timedOut`), never retried;
 *  - response bodies are read within responseByteBudget(card, batch) and refused past it.
 * The caller (BatchRunner under the scheduler) counts a failed batch's frames as dropped.
 * `close()` is idempotent: it aborts requests in flight (CLOSED) and refuses later calls.
 */
export interface RemoteLocalizerOptions {
  readonly url: string;
  readonly visualModel?: string | undefined;
  readonly audioModel?: string | undefined;
  readonly timeoutMs: number;
  readonly maxInFlight: number;
  readonly token?: string | undefined;
  /** For tests; default the global fetch. */
  readonly fetch?: typeof fetch;
}

export class RemoteLocalizer implements Localizer {
  readonly device = 'remote' as const;
  readonly warnings: readonly string[] = [];
  /** Live counters (read them; do not write). */
  readonly stats: RemoteStats = emptyRemoteStats();
  private readonly closer = new AbortController();
  private readonly running = new Set<Promise<unknown>>();
  private nextId = 1;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly card: ModelCard,
    private readonly http: V2Http,
    private readonly specs: Record<'visual' | 'audio', RemoteGraphSpec>,
    private readonly opts: RemoteLocalizerOptions,
  ) {}

  /** Checks the server and both models against the card; rejects with what does not match. */
  static async open(card: ModelCard, opts: RemoteLocalizerOptions): Promise<RemoteLocalizer> {
    const http = new V2Http({ url: opts.url, token: opts.token, fetch: opts.fetch });
    const specs = remoteGraphSpecs(card, opts);
    await checkRemoteModels(http, [specs.visual, specs.audio], opts.timeoutMs);
    return new RemoteLocalizer(card, http, specs, opts);
  }

  /** The server's models, for the log. */
  get models(): { readonly visual: string; readonly audio: string } {
    return { visual: this.specs.visual.model, audio: this.specs.audio.model };
  }

  embedVisual(frames: readonly Uint8Array[]): Promise<Float32Array[]> {
    const spec = this.specs.visual;
    const n = itemSize(spec.input);
    for (const [i, f] of frames.entries()) {
      if (f.length !== n) {
        const { width, height } = this.card.visual;
        return Promise.reject(new AvlocError('INTERNAL', `embedVisual: frame ${i} has ${f.length} bytes, the model needs ${width}×${height}×3 = ${n}`));
      }
    }
    return this.call(spec, frames, () => new Uint8Array(frames.length * n));
  }

  embedAudio(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    const spec = this.specs.audio;
    const n = itemSize(spec.input);
    for (const [i, w] of windows.entries()) {
      if (w.length !== n) return Promise.reject(new AvlocError('INTERNAL', `embedAudio: window ${i} has ${w.length} samples, the model needs ${n}`));
    }
    return this.call(spec, windows, () => new Float32Array(windows.length * n));
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closer.abort(new AvlocError('CLOSED', 'localizer is closed'));
      this.closing = Promise.allSettled([...this.running]).then(() => undefined);
    }
    return this.closing;
  }

  private call<T extends Uint8Array | Float32Array>(spec: RemoteGraphSpec, items: readonly T[], alloc: () => T): Promise<Float32Array[]> {
    if (this.closer.signal.aborted) return Promise.reject(new AvlocError('CLOSED', 'localizer is closed'));
    if (items.length === 0) return Promise.resolve([]);
    if (this.stats.inFlight >= this.opts.maxInFlight) {
      this.stats.refused++;
      return Promise.reject(
        new AvlocError('AT_CAPACITY', `remote inference: ${this.stats.inFlight} requests already in flight (model.remote.maxInFlight = ${this.opts.maxInFlight}); this ${spec.graph} batch of ${items.length} is dropped`),
      );
    }
    this.stats.inFlight++;
    const run = this.infer(spec, items, alloc).then(
      (out) => {
        this.stats.ok++;
        return out;
      },
      (err: unknown) => {
        const code = err instanceof AvlocError ? err.code : 'INTERNAL';
        if (code === 'INFERENCE_TIMEOUT') this.stats.timedOut++;
        else if (code === 'CLOSED') this.stats.closed++;
        else this.stats.failed++;
        throw err;
      },
    );
    const tracked = run.finally(() => {
      this.stats.inFlight--;
      this.running.delete(tracked);
    });
    this.running.add(tracked);
    return tracked;
  }

  private async infer<T extends Uint8Array | Float32Array>(spec: RemoteGraphSpec, items: readonly T[], alloc: () => T): Promise<Float32Array[]> {
    const flat = alloc();
    const n = itemSize(spec.input);
    items.forEach((item, i) => flat.set(item, i * n));
    const id = String(this.nextId++);
    const body = inferRequestBody(spec, flat, items.length, id);
    const path = `${modelPath(spec.model)}/infer`;
    const reply = await this.http.send({
      method: 'POST',
      path,
      body,
      timeoutMs: this.opts.timeoutMs,
      maxBytes: responseByteBudget(spec, items.length),
      signal: this.closer.signal,
      onRetry: () => this.stats.retried++,
    });
    if (reply.status !== 200) {
      throw new AvlocError('INFERENCE_REMOTE_FAILED', `remote model "${spec.model}": POST ${this.http.where(path)} answered ${describeErrorReply(reply)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(reply.text);
    } catch (err) {
      throw new AvlocError('INFERENCE_REMOTE_FAILED', `remote model "${spec.model}": the inference response is not JSON`, { cause: err });
    }
    const out = readInferOutput(json, spec, items.length, id);
    const size = itemSize(spec.output);
    return Array.from({ length: items.length }, (_, i) => out.subarray(i * size, (i + 1) * size));
  }
}
