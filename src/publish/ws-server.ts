/**
 * Attaches the avloc WebSocket endpoint to an existing http.Server at `/ws`.
 *
 * Every text message is validated against the protocol schemas; a malformed one gets an `error`
 * message (code PROTOCOL_INVALID) and the connection stays open. Limits per connection: the
 * largest accepted message (`maxMessageBytes`, enforced by ws, which closes with 1009), and a
 * keepalive that terminates a peer that does not answer a WebSocket ping within one interval.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { maySubscribe } from '../auth/grants.ts';
import type { Grants } from '../auth/grants.ts';
import { AvlocError, describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createLogger } from '../log.ts';
import { nowMs } from '../pipeline/types.ts';
import type { Hub } from './hub.ts';
import type { HubClient } from './hub/session.ts';
import { PROTOCOL_VERSION, parseClientMessage } from '../wire/protocol.ts';
import type { ModelInfo } from '../wire/protocol.ts';

export interface WsServerOptions {
  readonly server: Server;
  readonly hub: Hub;
  readonly path?: string;
  /** Largest incoming message in bytes (default 16 KiB; client messages are small). */
  readonly maxMessageBytes?: number;
  /** WebSocket ping interval; a peer silent for a whole interval is terminated (default 15 s, 0 = off). */
  readonly pingIntervalMs?: number;
  /** Most simultaneous connections (default 256); more are refused with HTTP 503. */
  readonly maxClients?: number;
  /** Most simultaneous connections from one remote address (default 32); more are refused with HTTP 429. */
  readonly maxClientsPerAddress?: number;
  /**
   * Messages a connection may send per second on average (default 20), with bursts of `burst`
   * (default 50). Past it the connection is closed with 1008 before the message is even parsed:
   * parsing runs on the event loop that serves every stream, so one flooding client must not
   * stall the others.
   */
  readonly messageRate?: { readonly perSecond: number; readonly burst: number };
  /**
   * The grants of a connecting client, from the URL's `?token=` (browsers cannot set headers on a
   * WebSocket); throwing refuses the upgrade (401 for UNAUTHORIZED). Default: every stream.
   */
  readonly authorize?: (token: string | undefined) => Promise<Grants>;
  /** Whether the upgrade's Origin may connect (403 otherwise). Default: any. */
  readonly originAllowed?: (req: IncomingMessage) => boolean;
  /** Told of each refused upgrade (for metrics). */
  readonly onRefused?: (status: number) => void;
  readonly serverVersion?: string;
  readonly model?: ModelInfo | null;
  readonly log?: Logger;
}

interface Conn {
  readonly ws: WebSocket;
  readonly client: HubClient;
  alive: boolean;
  /** Token bucket of the message rate limit: tokens left and when they were counted. */
  tokens: number;
  countedAtMs: number;
}

export class AvlocWsServer {
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<Conn>();
  private readonly path: string;
  private readonly maxBytes: number;
  private readonly maxClients: number;
  private readonly maxPerAddress: number;
  /** Open connections (and upgrades being authorized) by remote address. */
  private readonly perAddress = new Map<string, number>();
  private readonly rate: { readonly perSecond: number; readonly burst: number };
  private readonly log: Logger;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => this.upgrade(req, socket, head);

  constructor(private readonly opts: WsServerOptions) {
    this.path = opts.path ?? '/ws';
    this.maxBytes = opts.maxMessageBytes ?? 16 * 1024;
    this.maxClients = opts.maxClients ?? 256;
    this.maxPerAddress = opts.maxClientsPerAddress ?? 32;
    this.rate = opts.messageRate ?? { perSecond: 20, burst: 50 };
    this.log = opts.log ?? createLogger('ws');
    // noServer: we route upgrades ourselves so other paths (none today) stay free for others.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxBytes, perMessageDeflate: false });
    opts.server.on('upgrade', this.onUpgrade);
    const every = opts.pingIntervalMs ?? 15_000;
    if (every > 0) {
      this.timer = setInterval(() => this.keepalive(), every);
      this.timer.unref();
    }
  }

  get clientCount(): number {
    return this.conns.size;
  }

  /** Closes every connection (1001 going away) and detaches from the http server. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.timer) clearInterval(this.timer);
      this.opts.server.off('upgrade', this.onUpgrade);
      for (const c of this.conns) c.ws.close(1001, 'server shutting down');
      const deadline = setTimeout(() => {
        for (const c of this.conns) c.ws.terminate();
      }, 1000);
      deadline.unref();
      const finish = (): void => {
        if (this.conns.size > 0) {
          setTimeout(finish, 10).unref();
          return;
        }
        clearTimeout(deadline);
        this.wss.close(() => resolve());
      };
      finish();
    });
    return this.closing;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== this.path) {
      // Another listener may own this path; if we are the only one, nobody will answer: say 404.
      if (this.opts.server.listenerCount('upgrade') <= 1) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
      return;
    }
    if (this.closing || this.conns.size >= this.maxClients) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const address = req.socket.remoteAddress ?? '?';
    if ((this.perAddress.get(address) ?? 0) >= this.maxPerAddress) {
      this.opts.onRefused?.(429);
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.track(address, +1);
    socket.once('close', () => this.track(address, -1));
    if (this.opts.originAllowed && !this.opts.originAllowed(req)) {
      this.refuse(socket, 403, 'Forbidden', `origin ${String(req.headers.origin)} may not connect (http.allowedOrigins)`);
      return;
    }
    const authorize = this.opts.authorize;
    if (!authorize) {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, null));
      return;
    }
    const token = url.searchParams.get('token') ?? undefined;
    // Nothing listens for a reset on this socket until ws takes it over: without this, a peer
    // that hangs up while its token is checked would be an unhandled 'error'.
    socket.on('error', () => {});
    authorize(token).then(
      (grants) => {
        if (socket.destroyed) return;
        if (this.closing) {
          socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, grants));
      },
      (err: unknown) => {
        const code = err instanceof AvlocError ? err.code : 'INTERNAL';
        if (code === 'UNAUTHORIZED') this.refuse(socket, 401, 'Unauthorized', describeError(err));
        else if (code === 'FORBIDDEN') this.refuse(socket, 403, 'Forbidden', describeError(err));
        else this.refuse(socket, 500, 'Internal Server Error', describeError(err));
      },
    );
  }

  private track(address: string, delta: number): void {
    const n = (this.perAddress.get(address) ?? 0) + delta;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }

  /** Answers an upgrade with an HTTP error and a one-line JSON body (`{ error: { code, message } }`). */
  private refuse(socket: Duplex, status: number, text: string, message: string): void {
    this.opts.onRefused?.(status);
    this.log.debug('WebSocket upgrade refused', { status, message });
    const code = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'FORBIDDEN' : 'INTERNAL';
    const body = JSON.stringify({ error: { code, message } });
    const auth = status === 401 ? 'WWW-Authenticate: Bearer realm="avloc"\r\n' : '';
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${auth}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  private accept(ws: WebSocket, req: IncomingMessage, grants: Grants | null): void {
    const hub = this.opts.hub;
    const client = grants ? hub.addClient(ws, (id) => maySubscribe(grants, id)) : hub.addClient(ws);
    const conn: Conn = { ws, client, alive: true, tokens: this.rate.burst, countedAtMs: nowMs() };
    this.conns.add(conn);
    this.log.debug('client connected', { client: client.id, from: req.socket.remoteAddress });
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      conn.alive = true;
      this.onMessage(conn, data, isBinary);
    });
    ws.on('error', (err) => this.log.debug('client socket error', { client: client.id, error: describeError(err) }));
    ws.on('close', (code) => {
      this.conns.delete(conn);
      hub.removeClient(client);
      this.log.debug('client disconnected', { client: client.id, code });
    });
    hub.sendTo(client, {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      server: { name: 'avloc', version: this.opts.serverVersion ?? '0.0.0' },
      model: this.opts.model ?? null,
      maxMessageBytes: this.maxBytes,
    });
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    const hub = this.opts.hub;
    if (!this.allow(conn)) return;
    try {
      if (isBinary) throw new AvlocError('PROTOCOL_INVALID', 'binary messages are not accepted from clients');
      const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
      const msg = parseClientMessage(text);
      switch (msg.type) {
        case 'subscribe':
          hub.subscribe(conn.client, msg.streams, msg.format, msg.preview);
          return;
        case 'unsubscribe':
          hub.unsubscribe(conn.client, msg.streams);
          return;
        case 'ping':
          hub.sendTo(conn.client, { type: 'pong', ...(msg.id === undefined ? {} : { id: msg.id }), serverTimeMs: nowMs() });
          return;
      }
    } catch (err) {
      const code = err instanceof AvlocError ? err.code : 'INTERNAL';
      const message = err instanceof AvlocError ? err.message : describeError(err);
      this.log.debug('bad client message', { client: conn.client.id, code, message });
      hub.sendTo(conn.client, { type: 'error', code, message });
    }
  }

  /** Takes one token of the connection's bucket; without one, closes it (1008, once). */
  private allow(conn: Conn): boolean {
    const now = nowMs();
    conn.tokens = Math.min(this.rate.burst, conn.tokens + ((now - conn.countedAtMs) * this.rate.perSecond) / 1000);
    conn.countedAtMs = now;
    if (conn.tokens >= 1) {
      conn.tokens -= 1;
      return true;
    }
    if (conn.ws.readyState === conn.ws.OPEN) {
      this.log.warn('client over its message rate; closing', { client: conn.client.id, perSecond: this.rate.perSecond });
      conn.ws.close(1008, `message rate limit: at most ${this.rate.perSecond}/s (bursts of ${this.rate.burst})`);
    }
    return false;
  }

  private keepalive(): void {
    for (const c of this.conns) {
      if (!c.alive) {
        this.log.debug('client missed a ping, terminating', { client: c.client.id });
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }
}
