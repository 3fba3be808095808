/**
 * The one gate every door asks: RTMP publish, WHIP, the WebSocket, REST and /metrics.
 * Without a configured secret or key set the service is anonymous (FULL_ACCESS for everyone)
 * and, unless told otherwise, reachable from this machine only (see exposure.ts).
 */
import type { IncomingMessage } from 'node:http';
import { AvlocError } from '../errors.ts';
import { FULL_ACCESS } from './grants.ts';
import type { Grants } from './grants.ts';
import type { VerifyToken } from './tokens.ts';

export class Auth {
  /** Requests refused for a missing or invalid token, or one that does not grant what was asked, by door. */
  readonly refusals = new Map<string, number>();

  constructor(
    private readonly verify: VerifyToken | null,
    /** Browser origins allowed besides the service's own (`*`: any). */
    readonly allowedOrigins: readonly string[] = [],
  ) {}

  get enabled(): boolean {
    return this.verify !== null;
  }

  /** The grants of a token; without auth, FULL_ACCESS whatever is passed. */
  async grants(token: string | undefined): Promise<Grants> {
    if (!this.verify) return FULL_ACCESS;
    if (token === undefined || token === '') throw new AvlocError('UNAUTHORIZED', 'a token is required (auth is on)');
    return this.verify(token);
  }

  /**
   * The grants of `token` at `door` when `allowed` holds for them; otherwise UNAUTHORIZED or
   * FORBIDDEN (naming `what`), and the refusal is counted for that door.
   */
  async authorize(door: string, token: string | undefined, allowed: (g: Grants) => boolean, what: string): Promise<Grants> {
    try {
      const g = await this.grants(token);
      if (!allowed(g)) throw forbidden(what);
      return g;
    } catch (err) {
      this.refused(door);
      throw err;
    }
  }

  /** Counts a refusal at a door (for /metrics). */
  refused(door: string): void {
    this.refusals.set(door, (this.refusals.get(door) ?? 0) + 1);
  }

  /**
   * Whether a browser page from `Origin` may use this door: no Origin (not a browser), the
   * service's own origin (same host and port as the request's Host), or one configured.
   */
  originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.allowedOrigins.includes('*') || this.allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(h);
  return m?.[1];
}

/** A refusal for a valid token that does not grant what was asked. */
export function forbidden(what: string): AvlocError {
  return new AvlocError('FORBIDDEN', `the token does not grant ${what}`);
}
