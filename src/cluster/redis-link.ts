/**
 * This node's two connections to Redis — one for commands and publishing, one in subscriber mode
 * (Redis allows nothing else on a subscribed connection) — and whether Redis is reachable.
 *
 * Nothing is buffered while Redis is away: the offline queue is off (a command sent while the
 * connection is not ready fails at once), a command in flight when the connection drops fails
 * at once (maxRetriesPerRequest 0, nothing resent), and every command has a deadline. The
 * connections retry by themselves (50 ms doubling to 2 s); callers see `up` again and redo what
 * they need (claims, subscriptions) — ioredis's own resubscribing is off for that reason.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';

export type LinkState = 'up' | 'down';

export interface RedisLinkOptions {
  readonly url: string;
  readonly node: string;
  readonly commandTimeoutMs: number;
  readonly log: Logger;
}

const READY = 'ready';

export class RedisLink {
  readonly cmd: Redis;
  readonly sub: Redis;
  private current: LinkState = 'down';
  private sinceMs = Date.now();
  private lastError = '';
  /** Whether this down period has been logged (a Redis unreachable from the start never changes state). */
  private warned = false;
  private readonly listeners = new Set<(state: LinkState) => void>();
  private closed = false;
  private readonly log: Logger;

  constructor(opts: RedisLinkOptions) {
    this.log = opts.log;
    const base: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      enableReadyCheck: true,
      connectTimeout: Math.max(1000, opts.commandTimeoutMs),
      commandTimeout: opts.commandTimeoutMs,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    };
    this.cmd = new Redis(opts.url, { ...base, connectionName: `avloc-${opts.node}-cmd`.replace(/[^A-Za-z0-9._:-]/g, '-') });
    this.sub = new Redis(opts.url, { ...base, connectionName: `avloc-${opts.node}-sub`.replace(/[^A-Za-z0-9._:-]/g, '-') });
    for (const conn of [this.cmd, this.sub]) {
      conn.on('ready', () => this.update());
      conn.on('close', () => this.update());
      conn.on('end', () => this.update());
      // Without a listener an 'error' would be thrown; the state change says what matters.
      conn.on('error', (err: Error) => {
        this.lastError = describeError(err);
        if (this.current === 'down' && !this.warned && !this.closed) {
          this.warned = true;
          this.log.warn('redis unreachable: serving local streams only until it returns', { error: this.lastError });
        }
      });
    }
  }

  get state(): LinkState {
    return this.current;
  }

  /** When the state last changed (epoch ms). */
  get since(): number {
    return this.sinceMs;
  }

  /** The last connection error, for the log and /api/health ('' when none). */
  get error(): string {
    return this.lastError;
  }

  /** Starts connecting; an unreachable Redis is retried for ever, not an error. */
  start(): void {
    for (const conn of [this.cmd, this.sub]) conn.connect().catch(() => this.update());
  }

  /** Calls `fn` on every change between up and down; returns an unsubscribe. */
  onChange(fn: (state: LinkState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Closes both connections (QUIT, then a hard disconnect if Redis does not answer). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await Promise.all(
      [this.cmd, this.sub].map(async (conn) => {
        if (conn.status === READY) {
          const quit = conn.quit().catch(() => undefined);
          const timer = new Promise<void>((r) => setTimeout(r, 500).unref());
          await Promise.race([quit, timer]);
        }
        conn.disconnect(false);
      }),
    );
  }

  private update(): void {
    if (this.closed) return;
    const next: LinkState = this.cmd.status === READY && this.sub.status === READY ? 'up' : 'down';
    if (next === this.current) return;
    this.current = next;
    this.sinceMs = Date.now();
    if (next === 'up') {
      this.warned = false;
      this.lastError = '';
      this.log.info('redis reachable: cluster joined');
    } else {
      this.warned = true;
      this.log.warn('redis unreachable: serving local streams only until it returns');
    }
    for (const fn of [...this.listeners]) fn(next);
  }
}
