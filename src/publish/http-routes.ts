/**
 * A small HTTP router (no framework): `route(method, pattern, handler)` with `:param` segments,
 * JSON helpers, JSON error bodies with codes, and a safe static file handler for the viewer.
 * `registerApiRoutes` adds the service's REST endpoints and `/metrics`.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { FULL_ACCESS, maySubscribe } from '../auth/grants.ts';
import type { Grants } from '../auth/grants.ts';
import { AvlocError, describeError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createLogger } from '../log.ts';
import type { AvlocMetrics } from './metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
import type { ModelInfo, StreamSummary } from './protocol.ts';

export type RouteParams = Readonly<Record<string, string>>;
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams, url: URL) => void | Promise<void>;

interface Route {
  readonly method: string;
  readonly parts: readonly string[];
  readonly handler: RouteHandler;
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  PROTOCOL_INVALID: 400,
  CONFIG_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  STREAM_NOT_FOUND: 404,
  STREAM_EXISTS: 409,
  CLOSED: 503,
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** `{ "error": { "code", "message" } }` — the one error body shape of the REST API. */
export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: { code, message } });
}

/** Reads a request body up to `limit` bytes (a larger one is a 413 AvlocError('PROTOCOL_INVALID')). */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new AvlocError('PROTOCOL_INVALID', `request body over ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export interface RouterOptions {
  readonly log?: Logger;
  /** Serves this folder for GET/HEAD requests no route matched (the viewer). */
  readonly staticDir?: string;
}

export class Router {
  private readonly routes: Route[] = [];
  private readonly log: Logger;
  private readonly staticDir: string | undefined;

  constructor(opts: RouterOptions = {}) {
    this.log = opts.log ?? createLogger('http');
    this.staticDir = opts.staticDir === undefined ? undefined : resolve(opts.staticDir);
  }

  /** Registers a handler; `pattern` is a path with `:name` segments, e.g. `/whip/:id/:session`. */
  route(method: string, pattern: string, handler: RouteHandler): this {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with /: ${pattern}`);
    this.routes.push({ method: method.toUpperCase(), parts: split(pattern), handler });
    return this;
  }

  /** The listener to give `http.createServer`. */
  listener(): RequestListener {
    return (req, res) => {
      void this.handle(req, res);
    };
  }

  /** Handles one request; never throws (errors become JSON error bodies). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        sendError(res, 400, 'PROTOCOL_INVALID', 'bad request URL');
        return;
      }
      let parts: string[];
      try {
        parts = split(url.pathname).map((p) => decodeURIComponent(p));
      } catch {
        sendError(res, 400, 'PROTOCOL_INVALID', 'bad percent-encoding in path');
        return;
      }
      const method = (req.method ?? 'GET').toUpperCase();
      let pathMatched = false;
      for (const r of this.routes) {
        const params = match(r.parts, parts);
        if (!params) continue;
        pathMatched = true;
        if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
        await r.handler(req, res, params, url);
        return;
      }
      if (pathMatched) {
        sendError(res, 405, 'PROTOCOL_INVALID', `${method} not allowed on ${url.pathname}`);
        return;
      }
      if (this.staticDir && (method === 'GET' || method === 'HEAD')) {
        await serveStatic(this.staticDir, url.pathname, req, res);
        return;
      }
      sendError(res, 404, 'NOT_FOUND', `no route for ${method} ${url.pathname}`);
    } catch (err) {
      const code = err instanceof AvlocError ? err.code : 'INTERNAL';
      const status = err instanceof AvlocError ? (STATUS_OF[err.code] ?? 500) : 500;
      if (status >= 500) this.log.error('request failed', { url: pathOf(req), error: describeError(err) });
      if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="avloc"');
      sendError(res, status, code, err instanceof Error ? err.message : String(err));
    }
  }
}

/** The request's path, without its query (which may carry a token): what logs may show. */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0] ?? '';
}

function split(path: string): string[] {
  return path.split('/').filter((p) => p.length > 0);
}

function match(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? '';
    const v = parts[i] ?? '';
    if (p.startsWith(':')) params[p.slice(1)] = v;
    else if (p !== v) return undefined;
  }
  return params;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves `pathname` from `root`. Path safety: decoded segments may not contain `..`, separators
 * or NUL, and the real path (symlinks resolved) must stay inside the real root.
 */
export async function serveStatic(root: string, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const notFound = (): void => sendError(res, 404, 'NOT_FOUND', `not found: ${pathname}`);
  let segs: string[];
  try {
    segs = split(pathname).map((s) => decodeURIComponent(s));
  } catch {
    notFound();
    return;
  }
  if (segs.some((s) => s === '..' || s === '.' || s.includes('/') || s.includes('\\') || s.includes('\0'))) {
    notFound();
    return;
  }
  let file = join(root, ...segs);
  try {
    const realRoot = await realpath(root);
    let st = await stat(file);
    if (st.isDirectory()) {
      file = join(file, 'index.html');
      st = await stat(file);
    }
    const real = await realpath(file);
    if (!st.isFile() || (real !== realRoot && !real.startsWith(realRoot + sep))) {
      notFound();
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((done) => {
      const s = createReadStream(real);
      s.on('error', () => {
        res.destroy();
        done();
      });
      s.on('end', () => done());
      s.pipe(res);
    });
  } catch {
    notFound();
  }
}

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
    const text = deps.metrics.render();
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
}
