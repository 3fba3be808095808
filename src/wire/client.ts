/**
 * AvlocClient: a typed client for the avloc WebSocket protocol, usable in browsers and in Node.
 *
 * Isomorphic: it never imports Node modules. It uses the browser's global WebSocket, or the
 * constructor passed as `WebSocket` (in Node: `import { WebSocket } from 'ws'`).
 * When the socket drops without `close()` it reconnects by itself with exponential backoff
 * (with jitter) and re-sends its subscription.
 */
import { AvlocError } from '../errors.ts';
import { decodeHeatmapBinary, heatmapFromJson, parseServerText } from './protocol.ts';
import type { ClientMessageInput, ControlMessage, Heatmap, HeatmapFormat, ServerTextMessage, StreamSelector } from './protocol.ts';

/** The part of a WebSocket the client needs; both the DOM WebSocket and `ws` fit it. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: never) => unknown) | null;
  onmessage: ((ev: never) => unknown) | null;
  onclose: ((ev: never) => unknown) | null;
  onerror: ((ev: never) => unknown) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

type Msg<T extends ControlMessage['type']> = Extract<ControlMessage, { type: T }>;

/** Events the client emits, with their payloads. */
export interface ClientEvents {
  open: { reconnected: boolean };
  close: { code: number; reason: string; willReconnect: boolean };
  reconnecting: { attempt: number; delayMs: number };
  hello: Msg<'hello'>;
  streams: Msg<'streams'>;
  'stream.started': Msg<'stream.started'>;
  'stream.ended': Msg<'stream.ended'>;
  'stream.info': Msg<'stream.info'>;
  'stream.error': Msg<'stream.error'>;
  /** An `error` message from the server (e.g. our message was malformed). */
  error: Msg<'error'>;
  pong: Msg<'pong'>;
  heatmap: Heatmap;
  /** Something the client could not decode; the connection carries on. */
  'protocol-error': { error: AvlocError };
}
export type ClientEventName = keyof ClientEvents;
type Listener<K extends ClientEventName> = (ev: ClientEvents[K]) => void;

export interface ConnectOptions {
  /** WebSocket constructor; defaults to `globalThis.WebSocket` (browsers, Node 22+). */
  readonly WebSocket?: WebSocketConstructor;
  /** Reconnect after unexpected closes (default true). */
  readonly reconnect?: boolean;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface SubscribeOptions {
  readonly format?: HeatmapFormat;
  readonly preview?: boolean;
}

interface MessageEventLike {
  readonly data: unknown;
}
interface CloseEventLike {
  readonly code?: number;
  readonly reason?: string;
}

const OPEN = 1;

export class AvlocClient {
  private ws: WebSocketLike | undefined;
  private readonly listeners = new Map<ClientEventName, Set<(ev: never) => void>>();
  private subscription: { streams: StreamSelector; format: HeatmapFormat; preview: boolean } | undefined;
  private closedByUser = false;
  private attempt = 0;
  private everOpened = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly Ctor: WebSocketConstructor;
  private readonly reconnect: boolean;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  private constructor(
    readonly url: string,
    opts: ConnectOptions,
  ) {
    const g = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const Ctor = opts.WebSocket ?? g;
    if (!Ctor) throw new AvlocError('CONFIG_INVALID', 'no WebSocket implementation: pass { WebSocket } (in Node: from "ws")');
    this.Ctor = Ctor;
    this.reconnect = opts.reconnect ?? true;
    this.minBackoffMs = opts.minBackoffMs ?? 250;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  }

  /**
   * Creates a client and opens its socket. Resolves once the first connection is open; rejects if
   * it fails before opening and `reconnect` is false (with reconnect on, it keeps trying).
   */
  static connect(url: string, opts: ConnectOptions = {}): Promise<AvlocClient> {
    const c = new AvlocClient(url, opts);
    return new Promise((resolve, reject) => {
      const offOpen = c.on('open', () => {
        offOpen();
        offClose();
        resolve(c);
      });
      const offClose = c.on('close', (ev) => {
        if (ev.willReconnect) return;
        offOpen();
        offClose();
        reject(new AvlocError('CLOSED', `could not connect to ${url} (code ${ev.code})`));
      });
      c.open();
    });
  }

  get connected(): boolean {
    return this.ws?.readyState === OPEN;
  }

  /** Subscribes (replacing format/preview); remembered and re-sent after every reconnect. */
  subscribe(streams: StreamSelector, opts: SubscribeOptions = {}): void {
    const format = opts.format ?? 'binary';
    const preview = opts.preview ?? false;
    const prev = this.subscription?.streams;
    const merged: StreamSelector = streams === '*' || prev === '*' ? '*' : [...new Set([...(prev ?? []), ...streams])];
    this.subscription = { streams: merged, format, preview };
    this.send({ type: 'subscribe', streams, format, preview });
  }

  unsubscribe(streams: StreamSelector): void {
    if (streams === '*' || !this.subscription) this.subscription = undefined;
    else if (this.subscription.streams !== '*') {
      const left = this.subscription.streams.filter((s) => !streams.includes(s));
      this.subscription = left.length > 0 ? { ...this.subscription, streams: left } : undefined;
    }
    // Unsubscribing by name from '*' is remembered by the server only; after a reconnect '*' holds again.
    this.send({ type: 'unsubscribe', streams });
  }

  ping(id?: string | number): void {
    this.send(id === undefined ? { type: 'ping' } : { type: 'ping', id });
  }

  /** Sends a raw client message (tests use this to send malformed ones via `sendRaw`). */
  send(msg: ClientMessageInput): void {
    this.sendRaw(JSON.stringify(msg));
  }

  /** Sends text as is; dropped silently while disconnected (the subscription is re-sent on open). */
  sendRaw(text: string): void {
    if (this.ws?.readyState === OPEN) this.ws.send(text);
  }

  on<K extends ClientEventName>(event: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(fn as (ev: never) => void);
    return () => {
      set.delete(fn as (ev: never) => void);
    };
  }

  /** The next event of a kind that passes `filter`; rejects after `timeoutMs` (default 10 s). */
  once<K extends ClientEventName>(event: K, filter?: (ev: ClientEvents[K]) => boolean, timeoutMs = 10_000): Promise<ClientEvents[K]> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        off();
        reject(new AvlocError('CLOSED', `timed out waiting for ${event}`));
      }, timeoutMs);
      const off = this.on(event, (ev) => {
        if (filter && !filter(ev)) return;
        clearTimeout(t);
        off();
        resolve(ev);
      });
    });
  }

  /** Closes for good: no reconnect. Idempotent. */
  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    if (ws && ws.readyState <= OPEN) ws.close(1000, 'client closed');
  }

  // ---- internals ----------------------------------------------------------------------------

  private emit<K extends ClientEventName>(event: K, ev: ClientEvents[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) (fn as Listener<K>)(ev);
  }

  private open(): void {
    const ws = new this.Ctor(this.url);
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = (() => {
      if (this.ws !== ws) return;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      const sub = this.subscription;
      if (sub) ws.send(JSON.stringify({ type: 'subscribe', ...sub }));
      this.emit('open', { reconnected });
    }) as (ev: never) => unknown;
    ws.onmessage = ((ev: MessageEventLike) => {
      if (this.ws === ws) this.onData(ev.data);
    }) as (ev: never) => unknown;
    ws.onerror = (() => {
      // A close event always follows; reconnect logic lives there.
    }) as (ev: never) => unknown;
    ws.onclose = ((ev: CloseEventLike) => {
      if (this.ws !== ws) return;
      const willReconnect = !this.closedByUser && this.reconnect;
      this.emit('close', { code: ev.code ?? 1006, reason: ev.reason ?? '', willReconnect });
      if (willReconnect) this.scheduleReconnect();
    }) as (ev: never) => unknown;
  }

  private scheduleReconnect(): void {
    this.attempt++;
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** (this.attempt - 1));
    // Jitter spreads reconnects of many viewers after a server restart.
    const delayMs = Math.round(base * (0.5 + Math.random() * 0.5));
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closedByUser) this.open();
    }, delayMs);
  }

  private onData(data: unknown): void {
    try {
      if (typeof data === 'string') {
        this.onText(parseServerText(data));
        return;
      }
      if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        this.emit('heatmap', decodeHeatmapBinary(data));
        return;
      }
      throw new AvlocError('PROTOCOL_INVALID', 'unexpected message data type (set binaryType to arraybuffer)');
    } catch (err) {
      const error = err instanceof AvlocError ? err : new AvlocError('PROTOCOL_INVALID', String(err), { cause: err });
      this.emit('protocol-error', { error });
    }
  }

  private onText(m: ServerTextMessage): void {
    switch (m.type) {
      case 'heatmap':
        this.emit('heatmap', heatmapFromJson(m));
        return;
      case 'hello':
        this.emit('hello', m);
        return;
      case 'streams':
        this.emit('streams', m);
        return;
      case 'stream.started':
        this.emit('stream.started', m);
        return;
      case 'stream.ended':
        this.emit('stream.ended', m);
        return;
      case 'stream.info':
        this.emit('stream.info', m);
        return;
      case 'stream.error':
        this.emit('stream.error', m);
        return;
      case 'error':
        this.emit('error', m);
        return;
      case 'pong':
        this.emit('pong', m);
        return;
    }
  }
}
