/**
 * The HTTP edge both the REST API (publish/) and WHIP (ingest/) sit on: a small router
 * (`route(method, pattern, handler)` with `:param` segments), JSON answers, the one error body
 * `{ "error": { "code", "message" } }` with the catalog's status (src/errors.ts), a bounded body
 * reader, and a safe static file handler for the viewer.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { AvlocError, describeError, httpStatus } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createLogger } from '../log.ts';
import { sendError } from './answers.ts';
import { serveStatic } from './static.ts';

export type RouteParams = Readonly<Record<string, string>>;
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams, url: URL) => void | Promise<void>;

interface Route {
  readonly method: string;
  readonly parts: readonly string[];
  readonly handler: RouteHandler;
}

/** Reads a request body up to `limit` bytes; a larger one is refused (PAYLOAD_TOO_LARGE) rather than buffered. */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      req.resume();
      throw new AvlocError('PAYLOAD_TOO_LARGE', `request body over ${limit} bytes`);
    }
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
        sendError(res, 'PROTOCOL_INVALID', 'bad request URL');
        return;
      }
      let parts: string[];
      try {
        parts = split(url.pathname).map((p) => decodeURIComponent(p));
      } catch {
        sendError(res, 'PROTOCOL_INVALID', 'bad percent-encoding in path');
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
        sendError(res, 'METHOD_NOT_ALLOWED', `${method} not allowed on ${url.pathname}`);
        return;
      }
      if (this.staticDir && (method === 'GET' || method === 'HEAD')) {
        await serveStatic(this.staticDir, url.pathname, req, res);
        return;
      }
      sendError(res, 'NOT_FOUND', `no route for ${method} ${url.pathname}`);
    } catch (err) {
      const code: ErrorCode = err instanceof AvlocError ? err.code : 'INTERNAL';
      if (httpStatus(err) >= 500) this.log.error('request failed', { url: pathOf(req), error: describeError(err) });
      sendError(res, code, err instanceof Error ? err.message : String(err));
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
