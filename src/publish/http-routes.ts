/**
 * The service's REST endpoints and `/metrics`, on the shared router (src/http/router.ts).
 */
import type { IncomingMessage } from 'node:http';
import { FULL_ACCESS, maySubscribe } from '../auth/grants.ts';
import type { Grants } from '../auth/grants.ts';
import { AvlocError } from '../errors.ts';
import { sendJson } from '../http/answers.ts';
import type { Router } from '../http/router.ts';
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
export function registerApiRoutes(router: Router, deps: ApiDeps): void {
  const startedAt = Date.now();
  const grantsOf = deps.authorize ?? (async () => FULL_ACCESS);
  router.route('GET', '/api/streams', async (req, res) => {
    const grants = await grantsOf(req);
    sendJson(res, 200, { streams: deps.streams().filter((s) => maySubscribe(grants, s.id)) });
  });
  router.route('GET', '/api/health', (_req, res) => {
    const extra = deps.health?.() ?? {};
    const ok = extra.ok !== false;
    sendJson(res, ok ? 200 : 503, {
      ok,
      version: deps.version,
      uptimeSeconds: (Date.now() - startedAt) / 1000,
      model: deps.model(),
      streams: deps.streams().length,
      ...extra,
    });
  });
  router.route('GET', '/metrics', async (req, res) => {
    if (!(await grantsOf(req)).admin) throw new AvlocError('FORBIDDEN', 'the token does not grant admin (needed for /metrics)');
    const text = await deps.metrics.render();
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
}
