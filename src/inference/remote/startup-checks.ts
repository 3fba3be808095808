import { AvlocError } from '../../errors.ts';
import { checkModelMetadata } from './check-metadata.ts';
import type { RemoteGraphSpec } from './graph-specs.ts';
import type { V2Http, V2Reply } from './v2-http.ts';
import { errorResponseSchema } from './v2-wire.ts';

/**
 * Before a RemoteLocalizer takes batches: the server is ready (GET /v2/health/ready), and for
 * each graph its model's metadata (GET /v2/models/{name}) matches the card and the model is
 * ready (GET /v2/models/{name}/ready). The protocol answers health and readiness with the
 * status alone: 200 is true, 4xx false. Each exchange has the request deadline.
 */
const STARTUP_BODY_BYTES = 256 * 1024;

export function modelPath(model: string): string {
  return `/v2/models/${encodeURIComponent(model)}`;
}

/** A non-2xx answer in words: the protocol's `{"error": "..."}` where there is one. */
export function describeErrorReply(reply: V2Reply): string {
  let said = reply.text.slice(0, 300);
  try {
    const parsed = errorResponseSchema.safeParse(JSON.parse(reply.text));
    if (parsed.success) said = parsed.data.error;
  } catch {
    // not JSON: keep the start of the text
  }
  return said.trim() === '' ? `HTTP ${reply.status}` : `HTTP ${reply.status}: ${said}`;
}

export async function checkRemoteModels(http: V2Http, specs: readonly RemoteGraphSpec[], timeoutMs: number): Promise<void> {
  const get = (path: string) => http.send({ method: 'GET', path, timeoutMs, maxBytes: STARTUP_BODY_BYTES });
  const health = await get('/v2/health/ready');
  if (health.status !== 200) {
    throw new AvlocError('INFERENCE_REMOTE_FAILED', `inference server ${http.where('')} is not ready: GET /v2/health/ready answered ${describeErrorReply(health)}`);
  }
  for (const spec of specs) {
    const path = modelPath(spec.model);
    const meta = await get(path);
    if (meta.status !== 200) {
      const option = spec.graph === 'visual' ? 'model.remote.visualModel' : 'model.remote.audioModel';
      throw new AvlocError(
        'INFERENCE_REMOTE_FAILED',
        `remote model "${spec.model}" (the ${spec.graph} graph): GET ${http.where(path)} answered ${describeErrorReply(meta)}; ` +
          `is the bundle's repository (avloc export triton) loaded there, and is ${option} right?`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(meta.text);
    } catch (err) {
      throw new AvlocError('INFERENCE_REMOTE_FAILED', `remote model "${spec.model}": metadata at GET ${http.where(path)} is not JSON`, { cause: err });
    }
    checkModelMetadata(json, spec);
    const ready = await get(`${path}/ready`);
    if (ready.status !== 200) {
      throw new AvlocError('INFERENCE_REMOTE_FAILED', `remote model "${spec.model}" is not ready: GET ${http.where(`${path}/ready`)} answered ${describeErrorReply(ready)}`);
    }
  }
}
