/** JSON answers and the one error body of every HTTP answer, with the catalog's status (src/errors.ts). */
import type { ServerResponse } from 'node:http';
import { ERRORS } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** `{ "error": { "code", "message" } }` — the one error body shape of every HTTP answer; the status comes from the catalog. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, headers: Readonly<Record<string, string>> = {}): void {
  const status = ERRORS[code].status;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (status === 401 && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer realm="avloc"');
  sendJson(res, status, { error: { code, message } });
}
