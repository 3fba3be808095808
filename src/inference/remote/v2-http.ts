import { AvlocError } from '../../errors.ts';
import { readBoundedText } from './bounded-body.ts';

/**
 * One HTTP exchange with the inference server, on Node's global fetch (undici):
 *  - a DEADLINE per exchange (connect, send, wait and read the body together): past it the
 *    request is aborted with an AbortController and fails with INFERENCE_TIMEOUT — never retried;
 *  - ONE RETRY, only where the request cannot have reached the server: the connection was
 *    refused (ECONNREFUSED), and the deadline has not passed. Nothing else is retried;
 *  - the body is read within a byte budget (readBoundedText) before anyone parses it;
 *  - `signal` (the owner's close) aborts it with CLOSED.
 * Errors never carry the token; other failures (DNS, reset, TLS) are INFERENCE_REMOTE_FAILED.
 */
export interface V2HttpOptions {
  /** Base URL; a path prefix is kept (`http://gw/ns/svc` + `/v2/...`). */
  readonly url: string;
  readonly token?: string | undefined;
  /** For tests; default the global fetch. */
  readonly fetch?: typeof fetch | undefined;
}

export interface V2Exchange {
  readonly method: 'GET' | 'POST';
  /** Starts with `/v2`. */
  readonly path: string;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  /** Called before the one retry. */
  readonly onRetry?: () => void;
}

export interface V2Reply {
  readonly status: number;
  readonly text: string;
}

const TIMEOUT = Symbol('timeout');

export class V2Http {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: V2HttpOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** Where a path goes, for messages (the base URL holds no credentials: the schema refuses them). */
  where(path: string): string {
    return `${this.base}${path}`;
  }

  async send(x: V2Exchange): Promise<V2Reply> {
    const url = this.where(x.path);
    const what = `${x.method} ${url}`;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(TIMEOUT), x.timeoutMs);
    const onClose = () => ctl.abort(x.signal?.reason);
    if (x.signal?.aborted) onClose();
    x.signal?.addEventListener('abort', onClose, { once: true });
    const headers: Record<string, string> = { accept: 'application/json' };
    if (x.body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await this.fetchFn(url, { method: x.method, headers, signal: ctl.signal, ...(x.body !== undefined ? { body: x.body } : {}) });
          const text = await readBoundedText(res, x.maxBytes, what);
          return { status: res.status, text };
        } catch (err) {
          if (ctl.signal.aborted) {
            if (ctl.signal.reason === TIMEOUT) {
              throw new AvlocError('INFERENCE_TIMEOUT', `${what}: no complete answer within ${x.timeoutMs} ms (model.remote.timeoutMs); aborted and dropped`, { cause: err });
            }
            throw new AvlocError('CLOSED', `${what}: aborted, the localizer is closing`, { cause: err });
          }
          if (err instanceof AvlocError) throw err;
          if (attempt === 0 && connectionRefused(err)) {
            x.onRetry?.();
            continue;
          }
          throw new AvlocError('INFERENCE_REMOTE_FAILED', `${what}: ${describeFetchError(err)}${attempt > 0 ? ' (after one retry)' : ''}`, { cause: err });
        }
      }
    } finally {
      clearTimeout(timer);
      x.signal?.removeEventListener('abort', onClose);
    }
  }
}

/** The codes under an undici "fetch failed" (one cause, or an AggregateError of several addresses). */
function causeCodes(err: unknown): string[] {
  const cause = (err as { cause?: unknown } | null)?.cause as { code?: unknown; errors?: unknown } | undefined;
  if (!cause) return [];
  if (Array.isArray(cause.errors)) return cause.errors.map((e) => String((e as { code?: unknown }).code ?? ''));
  return typeof cause.code === 'string' ? [cause.code] : [];
}

/** Refused before anything was sent: every address the name resolved to said ECONNREFUSED. */
export function connectionRefused(err: unknown): boolean {
  const codes = causeCodes(err);
  return codes.length > 0 && codes.every((c) => c === 'ECONNREFUSED');
}

function describeFetchError(err: unknown): string {
  const codes = causeCodes(err);
  const cause = (err as { cause?: { message?: unknown } } | null)?.cause;
  const detail = codes.length > 0 ? codes.join(', ') : typeof cause?.message === 'string' ? cause.message : '';
  const msg = err instanceof Error ? err.message : String(err);
  return detail ? `${msg} (${detail})` : msg;
}
