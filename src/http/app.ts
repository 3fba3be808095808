/**
 * The HTTP edge REST (publish/) and WHIP (ingest/) share: one fastify instance whose node server
 * (`app.server`) also carries the WebSocket upgrades (publish/ws-server.ts). Every error answers
 * with the catalog's body (error-handler.ts); REST and WHIP sit behind a per-address rate limit;
 * the viewer's files are served from `staticDir`; a path that exists with other methods is 405.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { AvlocError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { Logger } from '../log.ts';
import { codeOf, errorHandler, notFoundHandler, sendError } from './error-handler.ts';
import { methodNotAllowed } from './methods.ts';
import { registerStaticFiles } from './static-files.ts';

export interface RateLimitOptions {
  /** Requests per address and window; 0: no limit. */
  readonly max: number;
  readonly windowMs: number;
}

export interface HttpAppOptions {
  readonly log?: Logger;
  /** REST and WHIP: registered in a scope of their own, behind the rate limit. */
  readonly routes: (api: FastifyInstance) => void | Promise<void>;
  /** Serves this folder for GET/HEAD requests no route matched (the viewer). */
  readonly staticDir?: string;
  /** Unset: no limit (the service passes `http.rateLimit`). */
  readonly rateLimit?: RateLimitOptions;
}

const MAX_PARAM_LENGTH = 1024;
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'bad percent-encoding in path',
  FST_ERR_MAX_PARAM_LENGTH: `a path segment over ${MAX_PARAM_LENGTH} characters`,
};

/** The app, not yet listening: `await app.ready()`, then listen on `app.server`. */
export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  const log = opts.log ?? createLogger('http');
  const app = Fastify({
    // Fastify's pino would be a second log format; server faults are logged by the error handler.
    logger: false,
    // The largest body any route reads without a limit of its own (WHIP sets its offer limit).
    bodyLimit: 64 * 1024,
    // Node's own timeouts, as before fastify (which turns the request timeout off and keeps idle sockets 72 s).
    keepAliveTimeout: 5000,
    requestTimeout: 300_000,
    // While closing, routes answer as usual (WHIP with CLOSED), not with fastify's 503 body.
    return503OnClosing: false,
    // `/api/health/` and `//api/health` are the same path, and a 65-character stream id reaches
    // the WHIP id check (400) instead of falling out of the router (404).
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    // Before routing (a bad percent-encoding, a path segment over maxParamLength): our body too.
    frameworkErrors: (err, _request, reply) => sendError(reply, codeOf(err), FRAMEWORK_MESSAGES[err.code] ?? err.message),
    clientErrorHandler: clientError,
  });
  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler(notFoundHandler);
  const fill405 = methodNotAllowed(app);   // before any route, so that it sees them all
  app.register(async (api) => {
    const limit = opts.rateLimit;
    if (limit && limit.max > 0) {
      await api.register(rateLimit, {
        max: limit.max,
        timeWindow: limit.windowMs,
        // Every answer would carry x-ratelimit-*; only the refusal does, with Retry-After.
        addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
        errorResponseBuilder: (_request, ctx) =>
          new AvlocError('RATE_LIMITED', `more than ${ctx.max} requests from this address in ${limit.windowMs} ms; retry in ${ctx.after}`),
      });
    }
    await opts.routes(api);
  });
  const staticDir = opts.staticDir;
  if (staticDir !== undefined) app.register(async (files) => registerStaticFiles(files, staticDir));
  app.register(fill405);
  return app;
}

/**
 * Malformed HTTP that never became a request: node's bare status line, as before fastify (whose
 * default answers with a JSON body of another shape than ours).
 */
function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n\r\n`);
}
