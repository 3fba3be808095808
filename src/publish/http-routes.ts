/**
 * The service's REST endpoints and `/metrics`, on the shared HTTP app (src/http/app.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { FULL_ACCESS, maySubscribe } from '../auth/grants.ts';
import type { Grants } from '../auth/grants.ts';
import { AvlocError } from '../errors.ts';
import type { AvlocMetrics } from './metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
import type { ModelInfo, StreamSummary } from '../wire/protocol.ts';

export interface ApiDeps {
  /** Current streams (the hub's list, or the server's richer one). */
  readonly streams: () => StreamSummary[];
  readonly metrics: AvlocMetrics;
  readonly model: () => ModelInfo | null;
  readonly version: string;
  /** Extra health fields (e.g. { ffmpeg: true }); `ok: false` here makes the answer 503. */
  readonly health?: () => Record<string, unknown>;
  /** The caller's grants from its Bearer token; throws UNAUTHORIZED to refuse. Default: everything. */
  readonly authorize?: (req: IncomingMessage) => Promise<Grants>;
}

/**
 * GET /api/streams (the streams the token may subscribe to), GET /api/health (public: liveness
 * probes carry no token; it names no stream), GET /metrics (admin: its labels name every stream).
 */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const startedAt = Date.now();
  const grantsOf = deps.authorize ?? (async () => FULL_ACCESS);
  app.get('/api/streams', async (request, reply) => {
    const grants = await grantsOf(request.raw);
    return json(reply, 200, { streams: deps.streams().filter((s) => maySubscribe(grants, s.id)) });
  });
  app.get('/api/health', async (_request, reply) => {
    const extra = deps.health?.() ?? {};
    const ok = extra.ok !== false;
    return json(reply, ok ? 200 : 503, {
      ok,
      version: deps.version,
      uptimeSeconds: (Date.now() - startedAt) / 1000,
      model: deps.model(),
      streams: deps.streams().length,
      ...extra,
    });
  });
  app.get('/metrics', async (request, reply) => {
    if (!(await grantsOf(request.raw)).admin) throw new AvlocError('FORBIDDEN', 'the token does not grant admin (needed for /metrics)');
    const text = await deps.metrics.render();
    return reply.code(200).type(PROMETHEUS_CONTENT_TYPE).send(text);
  });
}

/** Live state: no cache may keep it. */
function json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
}
