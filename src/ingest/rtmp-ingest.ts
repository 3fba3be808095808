import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import { Subject, type Observable } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { nowMs } from '../pipeline/types.ts';
import type { Ingest, Source, SourceEvent, StreamClaims } from '../media/source.ts';

/**
 * RTMP publishers (OBS, ffmpeg, phones) through an embedded node-media-server 4.4.3.
 *
 * We use NMS only for the RTMP protocol and its publish/play fan-out: its own listeners, HTTP-FLV,
 * store (it would write ./data), recorder and relay are never started. We own the TCP listener and
 * hand each socket to NMS's RTMP handler, so that
 *   - a busy port is a rejected start() instead of NMS's process.exit(1);
 *   - an exception thrown while NMS parses garbage bytes closes that one socket instead of the
 *     whole service (NMS does not catch inside its 'data' handler);
 *   - the actual port is known when 0 (ephemeral) is asked for.
 * NMS keeps its state in a process-wide singleton (its Context), so only one RtmpIngest may run
 * per process; a second start() is refused with a clear error.
 *
 * rtmp://HOST:PORT/live/<id> → a Source whose ffmpegInput plays it back from 127.0.0.1. Only the
 * app `live` is accepted; a second publisher for a live id is refused (NMS ends its connection).
 * Playing is for the service's own decoders only: their URL carries a per-process key
 * (`?key=`) that an outside player does not have.
 */
export interface RtmpIngestOptions {
  /** TCP port (default 1935; 0 picks a free one, see `port` after start()). */
  readonly port?: number;
  /** Listen address (default 0.0.0.0). */
  readonly host?: string;
  /** The one RTMP application accepted (default "live"). */
  readonly app?: string;
  /**
   * A connection with no traffic either way for this long is closed (default 30 s): a client that
   * connects and says nothing, or a publisher whose network died without a FIN. Frees the id.
   */
  readonly idleTimeoutMs?: number;
  /**
   * A connection that is neither publishing nor playing this long after it connected is closed
   * (default 10 s): the idle timeout alone lets a peer that dribbles a byte now and then hold a
   * connection, and its parser state, for ever.
   */
  readonly handshakeTimeoutMs?: number;
  /** Bytes a player (our decoder's ffmpeg) may have queued in this process before it is cut off (default 4 MiB). */
  readonly relayLimitBytes?: number;
  /**
   * Asked before a publisher of `id` is accepted; a reason refuses it (disconnected, nothing
   * allocated for it). The service uses it for its stream cap and for ids live over WHIP.
   */
  readonly admit?: (id: string) => string | null;
  /**
   * Asked with the publish URL's `?token=` (OBS: stream key `ID?token=T`) before anything is
   * started for the publisher; a reason refuses it. While it runs, the publisher's first media
   * messages wait in a small bounded buffer (PENDING_LIMITS) and are replayed once it is accepted.
   */
  readonly authorize?: (id: string, token: string | undefined) => Promise<string | null>;
  /**
   * Cluster mode: claims the id across the nodes once the token passed (and `admit` agrees), in
   * the same bounded media hold; a refusal (live on another node) disconnects the publisher like
   * a local duplicate. A claim whose publisher is not accepted after all is released.
   */
  readonly claims?: StreamClaims;
  readonly logger?: Logger;
}

/** The parts of an NMS session we touch (it is untyped JavaScript). */
interface NmsSession {
  readonly id: string;
  readonly ip: string;
  readonly streamApp: string;
  readonly streamName: string;
  readonly streamPath: string;
  readonly isPublisher: boolean;
  readonly socket?: net.Socket;
  /** The session's RTMP parser: every media message it decodes goes to onPacketCallback. */
  readonly rtmp?: NmsParser;
  /** Writes one message to this session's socket (NMS ignores backpressure here). */
  sendBuffer(buffer: Buffer): void;
  close(): void;
}

interface NmsBroadcast {
  publisher: NmsSession | null;
  subscribers: Map<string, NmsSession>;
  publishGraceMs: number;
}

/** The parts of NMS's RTMP chunk parser (protocol/rtmp.js) that bound what a peer can allocate. */
interface NmsParser {
  onPacketCallback: (packet: unknown) => void;
  /** Reads a chunk header; registers its chunk stream in inPackets. */
  packetParse: () => void;
  /** Allocates the message buffer the header announced (up to 16 MiB, before any payload arrives). */
  packetAlloc: () => void;
  readonly inPackets: Map<number, unknown>;
  readonly parserPacket: { readonly header: { readonly length: number } };
}

/**
 * What a peer may make the parser allocate. A chunk header of a dozen bytes announces a message of
 * up to 16 MiB, which NMS allocates at once, per chunk stream: a few KB of headers could reserve
 * gigabytes. Until a connection is an accepted publisher its messages are commands (connect,
 * publish, play: well under 64 KiB); a publisher's video messages are frames (a 4K keyframe is a
 * few MB).
 */
export const RTMP_LIMITS = { chunkStreams: 64, messageBytesBeforePublish: 64 * 1024, messageBytes: 8 * 1024 * 1024 } as const;

/**
 * What a connection that is not yet publishing or playing may hold: RTMP's handshake is 3 KiB and
 * its connect / createStream / publish commands well under 1 KiB each, so a peer past the byte
 * budget is not a client. At most `perAddress` such connections from one address and `total` in
 * all: a flood of connections that never get anywhere cannot stall accept or hold memory. 32, not
 * fewer: the service's own decoders connect from loopback too, several at once when streams start.
 */
export const HANDSHAKE_LIMITS = { bytes: 256 * 1024, perAddress: 32, total: 128 } as const;

/** Media a publisher may send while its token is being checked (metadata, sequence headers, a keyframe). */
export const PENDING_LIMITS = { packets: 256, bytes: 8 * 1024 * 1024 } as const;

interface NmsContext {
  sessions: Map<string, NmsSession>;
  broadcasts: Map<string, NmsBroadcast>;
  eventEmitter: import('node:events').EventEmitter;
}

interface NmsInstance {
  rtmpServer: { handleRequest(socket: net.Socket): void };
  stop(): Promise<void>;
}

interface NmsLogger {
  level: string;
  log(message: string, level?: string): void;
}

interface Publisher {
  readonly source: Source;
  readonly session: NmsSession;
  closedBy: string | null;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const require = createRequire(import.meta.url);
let activeIngest: RtmpIngest | null = null;

export class RtmpIngest implements Ingest {
  readonly events$: Observable<SourceEvent>;
  private readonly events = new Subject<SourceEvent>();
  private readonly opts: Required<Omit<RtmpIngestOptions, 'logger' | 'admit' | 'authorize' | 'claims'>> & Pick<RtmpIngestOptions, 'admit' | 'authorize' | 'claims'>;
  private readonly log: Logger;
  private readonly publishers = new Map<string, Publisher>();
  private server: net.Server | null = null;
  private nms: NmsInstance | null = null;
  private ctx: NmsContext | null = null;
  /** Where node-media-server's own log lines go while this ingest is the active one. */
  readonly nmsLog: Logger;
  private boundPort = 0;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private closing: Promise<void> | null = null;
  private readonly listeners: Array<[string, (s: NmsSession) => void]> = [];
  /** Sessions we refused: NMS may still run its own publish steps for them, which we ignore. */
  private readonly refused = new WeakSet<object>();
  /** Publishers whose token is being checked, with the media they sent meanwhile. */
  private readonly pending = new WeakMap<object, { packets: unknown[]; bytes: number }>();
  /** The key our own decoders play with; an outside player is refused (see onPrePlay). */
  private readonly playKey = randomBytes(18).toString('base64url');
  /** Connections closed because NMS threw while parsing their bytes. */
  badConnections = 0;
  /** Sockets whose session got as far as publish or play (the handshake deadline spares them). */
  private readonly started = new WeakSet<net.Socket>();
  private readonly uncounters = new WeakMap<net.Socket, () => void>();
  /** Players cut off because more than relayLimitBytes waited for them (see boundRelay). */
  relayOverflows = 0;
  /** Connections refused or closed before they publish or play: HANDSHAKE_LIMITS, or over PENDING_LIMITS while a token is checked. */
  handshakeRefusals = 0;
  /** Connections not yet publishing or playing, by remote address. */
  private readonly handshaking = new Map<string, number>();
  private handshakingTotal = 0;

  constructor(options: RtmpIngestOptions = {}) {
    this.opts = { port: options.port ?? 1935, host: options.host ?? '0.0.0.0', app: options.app ?? 'live', idleTimeoutMs: options.idleTimeoutMs ?? 30_000, handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000, relayLimitBytes: options.relayLimitBytes ?? 4 * 1024 * 1024, admit: options.admit, authorize: options.authorize, claims: options.claims };
    this.log = options.logger ?? createLogger('rtmp');
    this.nmsLog = this.log.child('nms');
    this.events$ = this.events.asObservable();
  }

  /** The port actually listened on (after start()). */
  get port(): number {
    return this.boundPort;
  }

  /** The sources now publishing. */
  sources(): Source[] {
    return [...this.publishers.values()].map((p) => p.source);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new AvlocError('INTERNAL', `RtmpIngest.start() called twice (state ${this.state})`);
    if (activeIngest) throw new AvlocError('CONFIG_INVALID', 'only one RtmpIngest can run per process (node-media-server keeps global state)');
    activeIngest = this;
    this.state = 'starting';
    try {
      routeNmsLogs();
      const NodeMediaServer = require('node-media-server') as new (config: object) => NmsInstance;
      // No ports in NMS's config: it opens no listener of its own (see the class comment).
      this.nms = new NodeMediaServer({ bind: this.opts.host, rtmp: {}, webadmin: { enable: false } });
      this.ctx = require('node-media-server/src/core/context.js') as NmsContext;
      this.on('prePublish', this.onPrePublish);
      this.on('postPublish', this.onPostPublish);
      this.on('prePlay', this.onPrePlay);
      const server = net.createServer((socket) => this.onConnection(socket));
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          reject(new AvlocError('CONFIG_INVALID', `RTMP ingest cannot listen on ${this.opts.host}:${this.opts.port}: ${err.code ?? err.message}`, { cause: err }));
        };
        server.once('error', onError);
        server.listen(this.opts.port, this.opts.host, () => {
          server.off('error', onError);
          resolve();
        });
      });
      server.on('error', (err) => this.log.error('RTMP listener error', { error: err.message }));
      const addr = server.address();
      this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
      this.state = 'running';
      this.log.info('RTMP ingest listening', { host: this.opts.host, port: this.boundPort, app: this.opts.app });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Kicks every publisher (each gets an `ended`), stops listening, completes events$. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.state = 'closed';
    this.closing = (async () => {
      for (const [id, p] of [...this.publishers]) this.endPublisher(id, p, 'ingest closed');
      const server = this.server;
      this.server = null;
      // server.close() only calls back once every connection is gone, so stop accepting first,
      // then let NMS destroy the sockets it holds (players, idle clients), then wait.
      const serverClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
      for (const [ev, fn] of this.listeners) this.ctx?.eventEmitter.off(ev, fn);
      this.listeners.length = 0;
      try {
        await this.nms?.stop();
      } catch (err) {
        this.log.warn('node-media-server stop failed', { error: describeError(err) });
      }
      this.nms = null;
      await serverClosed;
      if (activeIngest === this) activeIngest = null;
      this.events.complete();
    })();
    return this.closing;
  }

  private on(event: string, fn: (s: NmsSession) => void): void {
    this.ctx?.eventEmitter.on(event, fn);
    this.listeners.push([event, fn]);
  }

  private onConnection(socket: net.Socket): void {
    if (this.state !== 'running' || !this.nms) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '?';
    const fromHere = this.handshaking.get(address) ?? 0;
    if (fromHere >= HANDSHAKE_LIMITS.perAddress || this.handshakingTotal >= HANDSHAKE_LIMITS.total) {
      this.handshakeRefusals++;
      if (this.handshakeRefusals % 100 === 1) {
        this.log.warn('refusing RTMP connections: too many not yet publishing or playing', { remote: address, fromAddress: fromHere, total: this.handshakingTotal, refused: this.handshakeRefusals });
      }
      socket.destroy();
      return;
    }
    this.handshaking.set(address, fromHere + 1);
    this.handshakingTotal++;
    let counted = true;
    // Leaves the handshake count when it publishes or plays (started), or closes first.
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      this.handshakingTotal--;
      const n = (this.handshaking.get(address) ?? 1) - 1;
      if (n <= 0) this.handshaking.delete(address);
      else this.handshaking.set(address, n);
    };
    this.uncounters.set(socket, uncount);
    socket.once('close', uncount);
    let received = 0;
    // NMS parses inside its socket 'data' listener without a try/catch; a throw there (garbage
    // that gets past the handshake) would be an uncaught exception. Guard that listener.
    const on = socket.on.bind(socket);
    const guarded = (event: string | symbol, listener: (...args: never[]) => void): net.Socket => {
      if (event !== 'data') return on(event as 'data', listener as (b: Buffer) => void);
      return on('data', (data: Buffer) => {
        if (counted) {
          received += data.length;
          if (received > HANDSHAKE_LIMITS.bytes) {
            this.handshakeRefusals++;
            this.log.warn('closing RTMP connection that sent too much before publishing or playing', { remote: `${socket.remoteAddress}:${socket.remotePort}`, bytes: received });
            socket.destroy();
            return;
          }
        }
        try {
          (listener as (b: Buffer) => void)(data);
        } catch (err) {
          this.badConnections++;
          this.log.warn('closing RTMP connection that sent bytes we cannot parse', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: describeError(err) });
          socket.destroy();
        }
      });
    };
    socket.on = guarded as typeof socket.on;
    socket.setNoDelay(true);
    const deadline = setTimeout(() => {
      if (this.started.has(socket)) return;
      this.log.warn('closing RTMP connection that did not publish or play in time', {
        remote: `${socket.remoteAddress}:${socket.remotePort}`, ms: this.opts.handshakeTimeoutMs,
      });
      socket.destroy();
    }, this.opts.handshakeTimeoutMs);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    socket.setTimeout(this.opts.idleTimeoutMs, () => {
      const p = [...this.publishers.values()].find((x) => x.session.socket === socket);
      if (p) p.closedBy ??= `publisher idle for ${this.opts.idleTimeoutMs} ms`;
      this.log.warn('closing idle RTMP connection', { remote: `${socket.remoteAddress}:${socket.remotePort}`, publisher: p?.source.id ?? null });
      socket.destroy();
    });
    try {
      this.nms.rtmpServer.handleRequest(socket);
      this.boundParser(socket);
    } catch (err) {
      this.log.warn('RTMP connection setup failed', { error: describeError(err) });
      socket.destroy();
    }
  }

  /**
   * Caps chunk streams and announced message sizes (RTMP_LIMITS) before NMS allocates for them.
   * A violation throws inside NMS's parse, which the guarded 'data' listener turns into closing
   * this connection (counted in badConnections); nothing else is affected.
   */
  private boundParser(socket: net.Socket): void {
    let session: NmsSession | undefined;
    for (const s of this.ctx?.sessions.values() ?? []) if (s.socket === socket) session = s;
    const parser = session?.rtmp;
    if (!session || !parser) return;
    const parse = parser.packetParse.bind(parser);
    const alloc = parser.packetAlloc.bind(parser);
    parser.packetParse = (): void => {
      parse();
      if (parser.inPackets.size > RTMP_LIMITS.chunkStreams) throw new Error(`more than ${RTMP_LIMITS.chunkStreams} RTMP chunk streams`);
    };
    parser.packetAlloc = (): void => {
      const announced = parser.parserPacket.header.length;
      const publishing = (session !== undefined && this.pending.has(session)) || [...this.publishers.values()].some((p) => p.session === session);
      const limit = publishing ? RTMP_LIMITS.messageBytes : RTMP_LIMITS.messageBytesBeforePublish;
      if (announced > limit) throw new Error(`RTMP message of ${announced} bytes announced (limit ${limit})`);
      alloc();
    };
  }

  private readonly onPrePublish = (s: NmsSession): void => {
    this.markStarted(s);
    const broadcast = this.ctx?.broadcasts.get(s.streamPath);
    // We report `ended` as soon as the publisher leaves, so NMS's 30 s "resume" window would only
    // hold the path hostage: a camera that reconnects is a new stream for us.
    if (broadcast) broadcast.publishGraceMs = 0;
    this.onlyFromThePublisher(s);
    if (s.streamApp !== this.opts.app) {
      this.refuse(s, `publish to app "${s.streamApp}" rejected (only "${this.opts.app}" is accepted)`);
    } else if (!ID_PATTERN.test(s.streamName)) {
      this.refuse(s, `publish with invalid stream id "${s.streamName}" rejected (letters, digits, _ and -, up to 64)`);
    }
  };

  private readonly onPostPublish = (s: NmsSession): void => {
    if (this.refused.has(s) || this.state !== 'running') return;
    const id = s.streamName;
    const broadcast = this.ctx?.broadcasts.get(s.streamPath);
    if (this.publishers.has(id) || (broadcast?.publisher && broadcast.publisher !== s)) {
      // NMS only half-closes this connection ("already has a publisher") and keeps parsing what it
      // sends into the live broadcast; its media is already gated (onlyFromThePublisher), and the
      // connection goes now.
      this.refuse(s, `second publisher for live stream "${id}" rejected`);
      return;
    }
    const { authorize, claims } = this.opts;
    if (!authorize && !claims) {
      this.accept(s);
      return;
    }
    this.pending.set(s, { packets: [], bytes: 0 });
    const raw = (s as { streamQuery?: Record<string, unknown> }).streamQuery?.token;
    const token = typeof raw === 'string' ? raw : undefined;
    void this.admitLater(s, id, token);
  };

  /** The token check, then the cluster claim, while the publisher's first media waits (PENDING_LIMITS). */
  private async admitLater(s: NmsSession, id: string, token: string | undefined): Promise<void> {
    const { authorize, claims } = this.opts;
    let release: (() => void) | undefined;
    try {
      const refusal = authorize ? await authorize(id, token) : null;
      if (refusal) {
        this.refuse(s, `publisher of "${id}" rejected: ${refusal}`);
        return;
      }
      if (claims) {
        // What accept() would refuse anyway must not take the id from the whole cluster first.
        const local = this.publishers.has(id) ? 'already live here' : this.opts.admit?.(id);
        if (local) {
          this.refuse(s, `publisher of "${id}" rejected: ${local}`);
          return;
        }
        if (this.refused.has(s)) return;
        const claim = await claims.claim(id, 'rtmp');
        if (claim.refused !== null) {
          this.refuse(s, `publisher of "${id}" rejected: ${claim.refused}`);
          return;
        }
        release = () => claim.release();
      }
    } catch (err) {
      this.refuse(s, `publisher of "${id}" rejected: ${describeError(err)}`);
      return;
    }
    if (!this.accept(s)) release?.();
  }

  /** Admits a publisher whose id and token passed: it becomes a Source, and its held media flows. Says whether it did. */
  private accept(s: NmsSession): boolean {
    const held = this.pending.get(s);
    this.pending.delete(s);
    const id = s.streamName;
    if (this.refused.has(s) || this.state !== 'running' || !s.socket || s.socket.destroyed) return false;
    if (this.publishers.has(id)) {
      this.refuse(s, `second publisher for live stream "${id}" rejected`);
      return false;
    }
    const refusal = this.opts.admit?.(id);
    if (refusal) {
      this.refuse(s, `publisher of "${id}" rejected: ${refusal}`);
      return false;
    }
    // Read back over loopback unless we listen on one specific address only; always an address,
    // never a name (the npm-shipped ffmpeg cannot resolve one), taken from the bound socket.
    const bound = this.server?.address();
    const h = typeof bound === 'object' && bound ? bound.address : '127.0.0.1';
    const playHost = h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '[::1]' : h.includes(':') ? `[${h}]` : h;
    const url = `rtmp://${playHost}:${this.boundPort}/${this.opts.app}/${id}?key=${this.playKey}`;
    const publisher: Publisher = {
      session: s,
      closedBy: null,
      source: {
        id,
        kind: 'rtmp',
        live: true,
        // -rtmp_live live: play the live stream, never a recorded one of the same name.
        ffmpegInput: ['-rtmp_live', 'live', '-i', url],
        startedAtMs: nowMs(),
        close: () => this.closeSource(id, publisher),
      },
    };
    this.publishers.set(id, publisher);
    s.socket?.once('close', () => this.endPublisher(id, publisher, publisher.closedBy ?? 'publisher disconnected'));
    this.log.info('RTMP publisher started', { id, remote: s.ip });
    const forward = this.forwards.get(s);
    for (const packet of held?.packets ?? []) forward?.(packet);
    this.events.next({ type: 'started', source: publisher.source });
    return true;
  }

  /** The broadcast's packet handler of each gated session (see onlyFromThePublisher). */
  private readonly forwards = new WeakMap<object, (packet: unknown) => void>();

  /**
   * NMS hands every media message a publishing session parses to its path's broadcast, whether or
   * not that session is the path's publisher. Gate them: only the broadcast's own publisher's
   * messages pass, so a refused or duplicate publisher cannot put one frame into a live stream,
   * not even from the bytes that arrived together with its publish command.
   */
  private onlyFromThePublisher(s: NmsSession): void {
    const parser = s.rtmp;
    if (!parser) return;
    const forward = parser.onPacketCallback;
    this.forwards.set(s, forward);
    parser.onPacketCallback = (packet: unknown): void => {
      if (this.refused.has(s) || this.ctx?.broadcasts.get(s.streamPath)?.publisher !== s) return;
      const held = this.pending.get(s);
      if (!held) {
        forward(packet);
        return;
      }
      held.packets.push(packet);
      held.bytes += (packet as { data?: Buffer }).data?.length ?? 0;
      if (held.packets.length > PENDING_LIMITS.packets || held.bytes > PENDING_LIMITS.bytes) {
        this.handshakeRefusals++;
        this.refuse(s, `publisher of "${s.streamName}" sent more media than is held while its token is checked`);
      }
    };
  }

  private readonly onPrePlay = (s: NmsSession): void => {
    this.markStarted(s);
    if (s.streamApp !== this.opts.app) this.refuse(s, `play from app "${s.streamApp}" rejected (only "${this.opts.app}" is served)`);
    else if (!this.isOwnPlayer(s)) this.refuse(s, `play of "${s.streamName}" rejected: playing is for the service's own decoders`);
    // NMS would park a player of an absent stream until someone publishes; a decoder still
    // retrying an ended stream should fail fast instead (its restarts are bounded).
    else if (!this.publishers.has(s.streamName)) this.refuse(s, `play of "${s.streamName}" rejected: not live`);
    else this.boundRelay(s);
  };

  /**
   * NMS writes every message to a player's socket with no regard for backpressure, so a decoder
   * that reads slower than the stream arrives (a loaded machine) would make the stream pile up in
   * this process and age without bound. Past relayLimitBytes queued, the player is cut off instead
   * (counted): its decoder restarts and rejoins the live stream at the latest keyframe from NMS's
   * GOP cache — skip-to-live, the scheduler's policy applied one stage earlier.
   */
  private boundRelay(s: NmsSession): void {
    const send = s.sendBuffer;
    let cut = false;
    s.sendBuffer = (buffer: Buffer): void => {
      if (cut) return;
      const queued = s.socket?.writableLength ?? 0;
      if (queued > this.opts.relayLimitBytes) {
        cut = true;
        this.relayOverflows++;
        this.log.warn('player fell behind the live stream; cut off to rejoin at the latest keyframe', {
          id: s.streamName,
          queuedBytes: queued,
          limitBytes: this.opts.relayLimitBytes,
        });
        kick(s);
        return;
      }
      send(buffer);
    };
  }

  /** The connection got as far as publish or play: past the handshake deadline, budget and counts. */
  private markStarted(s: NmsSession): void {
    if (!s.socket) return;
    this.started.add(s.socket);
    this.uncounters.get(s.socket)?.();
  }

  private isOwnPlayer(s: NmsSession): boolean {
    const key = (s as { streamQuery?: Record<string, unknown> }).streamQuery?.key;
    if (typeof key !== 'string') return false;
    const a = Buffer.from(key);
    const b = Buffer.from(this.playKey);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private refuse(s: NmsSession, why: string): void {
    this.refused.add(s);
    this.pending.delete(s);
    this.log.warn(why, { remote: s.ip });
    kick(s);
  }

  private async closeSource(id: string, p: Publisher): Promise<void> {
    if (this.publishers.get(id) === p) {
      p.closedBy ??= 'closed by the service';
      const closed = p.session.socket && !p.session.socket.destroyed ? new Promise<void>((r) => p.session.socket?.once('close', () => r())) : null;
      kick(p.session);
      await closed;
      this.endPublisher(id, p, p.closedBy);
    }
  }

  /** Emits `ended` once per publisher and drops the players of its path (our decoders' ffmpeg). */
  private endPublisher(id: string, p: Publisher, reason: string): void {
    if (this.publishers.get(id) !== p) return;
    this.publishers.delete(id);
    p.closedBy ??= reason;
    kick(p.session);
    const broadcast = this.ctx?.broadcasts.get(p.session.streamPath);
    // NMS keeps players attached across publish gaps; an ended stream should not leave them hanging.
    if (broadcast && (broadcast.publisher === null || broadcast.publisher === p.session)) {
      for (const sub of broadcast.subscribers.values()) kick(sub);
    }
    this.log.info('RTMP publisher ended', { id, reason });
    this.events.next({ type: 'ended', id, reason });
  }
}

let nmsLogsRouted = false;

/**
 * NMS logs every connection with console.log at debug level (its constructor sets that level).
 * Route its one logger, once per process, to the active ingest's logger; lines that come after an
 * ingest closed (late socket 'close' events) are dropped rather than printed raw.
 */
function routeNmsLogs(): void {
  if (nmsLogsRouted) return;
  nmsLogsRouted = true;
  const nmsLogger = require('node-media-server/src/core/logger.js') as NmsLogger;
  nmsLogger.log = (message: string, level = 'info') => {
    const log = activeIngest?.nmsLog;
    if (!log) return;
    // NMS "errors" are mostly a client's fault (bad stream name, duplicate publisher): warn.
    if (level === 'error' || level === 'warn') log.warn(message);
    else log.debug(message);
  };
}

function kick(s: NmsSession): void {
  if (s.socket) s.socket.destroy();
  else s.close();
}
