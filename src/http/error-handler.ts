/**
 * The one error body of every HTTP answer, `{ "error": { "code", "message" } }`, with the status
 * of its code in the catalog (src/errors.ts) — for errors routes throw, fastify's own (body
 * limits, content types, bad URLs) and requests no route matches.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AvlocError, ERRORS, describeError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';

/** Answers with the error body; a 401 names the scheme it wants (RFC 6750 §3). */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, headers: Readonly<Record<string, string>> = {}): FastifyReply {
  if (reply.sent || reply.raw.headersSent) {
    // Halfway through another answer: a second one cannot be written, so the client sees a cut.
    reply.raw.destroy();
    return reply;
  }
  reply.headers(headers);
  if (ERRORS[code].status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer realm="avloc"');
  return reply
    .code(ERRORS[code].status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error: { code, message } });
}

/** Fastify's own errors carry a status, not one of our codes: the catalog code for that status. */
const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'PROTOCOL_INVALID',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** The catalog code of anything a route or fastify threw; a plain Error is a bug (INTERNAL). */
export function codeOf(err: unknown): ErrorCode {
  if (err instanceof AvlocError) return err.code;
  const e = err as Partial<FastifyError> | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  return BY_STATUS[status] ?? (status >= 400 && status < 500 ? 'PROTOCOL_INVALID' : 'INTERNAL');
}

/** The request's path, without its query (which may carry a token): what logs may show. */
export function pathOf(url: string): string {
  return url.split('?')[0] ?? '';
}

/** For `setErrorHandler`: the error body, and a log line for server faults (5xx). */
export function errorHandler(log: Logger): (err: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (err, request, reply) => {
    const code = codeOf(err);
    if (ERRORS[code].status >= 500) log.error('request failed', { url: pathOf(request.url), error: describeError(err) });
    const message = (err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
      ? `request body over ${request.routeOptions.bodyLimit ?? '?'} bytes`
      : err instanceof Error ? err.message : String(err);
    return sendError(reply, code, message);
  };
}

/** For `setNotFoundHandler`: no route (nor, for GET, a file) has this path. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, 'NOT_FOUND', `no route for ${request.method} ${pathOf(request.url)}`);
}
