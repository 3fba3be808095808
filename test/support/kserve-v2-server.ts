import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { validateInferRequest, type ModelTensor, type V2Model } from './kserve-v2-validate.ts';

/**
 * A small KServe v2 / Open Inference Protocol server (HTTP/REST, JSON tensors) around
 * onnxruntime-node running a bundle's real ONNX files, standing in for Triton in tests. It serves
 * the bundle as `avloc export triton` would lay it out: models `<card name>-visual` and
 * `<card name>-audio`, each with the graph's own input and output (metadata from the ONNX
 * session; symbolic dims as -1). Endpoints, as the protocol specifies them:
 *   GET  /v2/health/ready          200 when ready, 400 when not (empty body)
 *   GET  /v2/models/{name}         model metadata; 400 {"error"} for an unknown model
 *   GET  /v2/models/{name}/ready   200 / 400
 *   POST /v2/models/{name}/infer   JSON tensors; 400 {"error"} for a request that breaks the
 *                                  protocol or does not fit the model (kserve-v2-validate.ts)
 * Anything else is 404 {"error"}. Every request is recorded (method, path, auth and content
 * type headers, the parsed body of an infer) for tests to check, unless `record` is false.
 *
 * Fault options: a delay before each infer answer, holding infers until release(), edited
 * (wrong) metadata, not ready, a padded (oversized) infer answer, a required bearer token.
 */
export interface KserveV2ServerOptions {
  readonly bundleDir: string;
  /** Wait this long before answering each infer request. */
  readonly inferDelayMs?: number;
  /** Keep infer requests waiting until release(). */
  readonly holdInfers?: boolean;
  /** Edit a model's metadata as served (not what inference uses): a server with wrong metadata. */
  readonly editMetadata?: (model: string, meta: V2Model) => void;
  /** /v2/health/ready answers 400. */
  readonly notReady?: boolean;
  /** Add a `parameters.padding` string of this many bytes to each infer answer. */
  readonly padInferBytes?: number;
  /** Require `Authorization: Bearer <token>`; others get 401 {"error"}. */
  readonly token?: string;
  /** Keep a record of each request in `requests` (default true; false for long runs such as a benchmark). */
  readonly record?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  /** The parsed JSON body of a POST (undefined when it did not parse). */
  readonly body?: unknown;
  status?: number;
}

export interface KserveV2Server {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly models: readonly string[];
  /** Most infer requests ever being worked on at once. */
  readonly maxConcurrentInfers: number;
  /** Resolves once at least `n` infer requests have arrived. */
  infersReceived(n: number): Promise<void>;
  /** Lets held infer requests go on. */
  release(): void;
  close(): Promise<void>;
}

interface Served {
  readonly meta: V2Model;
  readonly served: V2Model;
  readonly session: ort.InferenceSession;
}

const BODY_LIMIT = 64 * 1024 * 1024;

function datatypeOf(type: string): string {
  const map: Record<string, string> = { uint8: 'UINT8', float32: 'FP32', int64: 'INT64', int32: 'INT32', float64: 'FP64' };
  return map[type] ?? type.toUpperCase();
}

function tensorsOf(meta: readonly ort.InferenceSession.ValueMetadata[]): ModelTensor[] {
  return meta.map((m) => {
    if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
    return { name: m.name, datatype: datatypeOf(m.type), shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

export async function startKserveV2Server(opts: KserveV2ServerOptions): Promise<KserveV2Server> {
  const card = JSON.parse(await readFile(join(opts.bundleDir, 'model.json'), 'utf8')) as { name: string; visual: { file: string }; audio: { file: string } };
  const models = new Map<string, Served>();
  for (const [suffix, file] of [['visual', card.visual.file], ['audio', card.audio.file]] as const) {
    const name = `${card.name}-${suffix}`;
    const session = await ort.InferenceSession.create(join(opts.bundleDir, file), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const meta: V2Model = { name, versions: ['1'], platform: 'onnxruntime_onnx', inputs: tensorsOf(session.inputMetadata), outputs: tensorsOf(session.outputMetadata) };
    const served: V2Model = structuredClone(meta);
    opts.editMetadata?.(name, served);
    models.set(name, { meta, served, session });
  }

  const requests: RecordedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let holds: (() => void)[] = [];
  let infersNow = 0;
  let maxConcurrentInfers = 0;
  let inferCount = 0;

  const send = (res: ServerResponse, rec: RecordedRequest, status: number, body?: unknown): void => {
    rec.status = status;
    if (res.destroyed || res.writableEnded) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const fail = (res: ServerResponse, rec: RecordedRequest, status: number, error: string) => send(res, rec, status, { error });

  const readBody = (req: IncomingMessage): Promise<string | null> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > BODY_LIMIT) {
          resolve(null);
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const infer = async (req: IncomingMessage, res: ServerResponse, rec: RecordedRequest & { body?: unknown }, model: Served): Promise<void> => {
    const text = await readBody(req);
    if (text === null) return fail(res, rec, 413, `request body over ${BODY_LIMIT} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return fail(res, rec, 400, `request body is not JSON: ${(err as Error).message}`);
    }
    rec.body = json;
    inferCount++;
    for (const w of waiters.filter((x) => inferCount >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const checked = validateInferRequest(json, model.meta);
    if (!checked.ok) return fail(res, rec, 400, checked.error);
    infersNow++;
    maxConcurrentInfers = Math.max(maxConcurrentInfers, infersNow);
    try {
      if (opts.holdInfers) await new Promise<void>((resolve) => holds.push(resolve));
      if (opts.inferDelayMs) await wait(opts.inferDelayMs);
      if (res.destroyed) return; // the client gave up
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of checked.inputs) {
        const data = t.datatype === 'UINT8' ? Uint8Array.from(t.values) : Float32Array.from(t.values);
        feeds[t.name] = new ort.Tensor(t.datatype === 'UINT8' ? 'uint8' : 'float32', data, t.shape);
      }
      const outNames = checked.outputs ?? model.meta.outputs.map((o) => o.name);
      const out = await model.session.run(feeds, outNames);
      const outputs = outNames.map((name) => {
        const t = out[name]!;
        return { name, datatype: datatypeOf(t.type), shape: [...t.dims], data: Array.from(t.data as Float32Array) };
      });
      const body: Record<string, unknown> = { model_name: model.meta.name, model_version: '1', outputs };
      if (checked.id !== undefined) body.id = checked.id;
      if (opts.padInferBytes) body.parameters = { padding: 'x'.repeat(opts.padInferBytes) };
      send(res, rec, 200, body);
    } finally {
      infersNow--;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const rec: RecordedRequest & { body?: unknown } = {
      method: req.method ?? '',
      path,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
    };
    if (opts.record !== false) requests.push(rec);
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
      req.resume();
      return fail(res, rec, 401, 'missing or wrong bearer token');
    }
    const m = /^\/v2\/models\/([^/]+)(\/ready|\/infer)?$/.exec(path);
    if (req.method === 'GET' && path === '/v2/health/ready') return send(res, rec, opts.notReady ? 400 : 200);
    if (!m) {
      req.resume();
      return fail(res, rec, 404, `no such endpoint: ${req.method} ${path}`);
    }
    const name = decodeURIComponent(m[1]!);
    const model = models.get(name);
    const what = m[2] ?? '';
    const method = what === '/infer' ? 'POST' : 'GET';
    if (req.method !== method) {
      req.resume();
      return fail(res, rec, 405, `${path} takes ${method}`);
    }
    if (!model) {
      req.resume();
      return fail(res, rec, 400, `unknown model "${name}"`);
    }
    if (what === '') return send(res, rec, 200, model.served);
    if (what === '/ready') return send(res, rec, 200);
    return infer(req, res, rec, model);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String((err as Error)?.message ?? err) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    models: [...models.keys()],
    get maxConcurrentInfers() {
      return maxConcurrentInfers;
    },
    infersReceived: (n) => (inferCount >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    release: () => {
      const h = holds;
      holds = [];
      for (const go of h) go();
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...models.values()].map((m) => m.session.release()));
    },
  };
}
