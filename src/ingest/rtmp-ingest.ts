import net from 'node:net';
import { Subject, type Observable } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Ingest, Source, SourceEvent, StreamClaims } from '../media/source.ts';
import { admitLater } from './rtmp/admission.ts';
import { ConnectionGuard } from './rtmp/connection-guard.ts';
import { MediaHold } from './rtmp/media-hold.ts';
import { kick, loadNms, queryParam, routeNmsLogs, type NmsContext, type NmsInstance, type NmsSession } from './rtmp/nms.ts';
import { boundParser } from './rtmp/parser-bounds.ts';
import { Publishers } from './rtmp/publishers.ts';
import { DecoderRelay } from './rtmp/relay.ts';

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
 *
 * This file is the listener and the verdicts on NMS's publish and play events; the parts are
 * under rtmp/: NMS's surface (nms.ts), the per-connection guard and handshake budget
 * (connection-guard.ts), the parser's allocation caps (parser-bounds.ts), the media gate and hold
 * (media-hold.ts), token and claim admission (admission.ts), the live publishers and their Sources
 * (publishers.ts), the relay to our decoders (relay.ts).
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
   * messages wait in a small bounded buffer (rtmp/media-hold.ts PENDING_LIMITS) and are replayed
   * once it is accepted.
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

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
let activeIngest: RtmpIngest | null = null;

export class RtmpIngest implements Ingest {
  readonly events$: Observable<SourceEvent>;
  private readonly events = new Subject<SourceEvent>();
  private readonly opts: Required<Omit<RtmpIngestOptions, 'logger' | 'admit' | 'authorize' | 'claims'>> & Pick<RtmpIngestOptions, 'admit' | 'authorize' | 'claims'>;
  private readonly log: Logger;
  private readonly publishers: Publishers;
  private readonly guard: ConnectionGuard;
  private readonly hold = new MediaHold();
  private readonly relay: DecoderRelay;
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

  constructor(options: RtmpIngestOptions = {}) {
    this.opts = { port: options.port ?? 1935, host: options.host ?? '0.0.0.0', app: options.app ?? 'live', idleTimeoutMs: options.idleTimeoutMs ?? 30_000, handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000, relayLimitBytes: options.relayLimitBytes ?? 4 * 1024 * 1024, admit: options.admit, authorize: options.authorize, claims: options.claims };
    this.log = options.logger ?? createLogger('rtmp');
    this.nmsLog = this.log.child('nms');
    this.events$ = this.events.asObservable();
    this.publishers = new Publishers(this.log, () => this.ctx?.broadcasts, (id, reason) => this.events.next({ type: 'ended', id, reason }));
    this.guard = new ConnectionGuard(this.log, this.opts.handshakeTimeoutMs);
    this.relay = new DecoderRelay(this.log, this.opts.relayLimitBytes);
  }

  /** The port actually listened on (after start()). */
  get port(): number {
    return this.boundPort;
  }

  /** Connections closed because NMS threw while parsing their bytes. */
  get badConnections(): number {
    return this.guard.badConnections;
  }

  /** Players cut off because more than relayLimitBytes waited for them (see rtmp/relay.ts). */
  get relayOverflows(): number {
    return this.relay.overflows;
  }

  /** Connections refused or closed before they publish or play: HANDSHAKE_LIMITS, or over PENDING_LIMITS while a token is checked. */
  get handshakeRefusals(): number {
    return this.guard.handshakeRefusals;
  }

  /** The sources now publishing. */
  sources(): Source[] {
    return this.publishers.sources();
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new AvlocError('INTERNAL', `RtmpIngest.start() called twice (state ${this.state})`);
    if (activeIngest) throw new AvlocError('CONFIG_INVALID', 'only one RtmpIngest can run per process (node-media-server keeps global state)');
    activeIngest = this;
    this.state = 'starting';
    try {
      routeNmsLogs(() => activeIngest?.nmsLog);
      // No ports in NMS's config: it opens no listener of its own (see the class comment).
      const { nms, ctx } = loadNms(this.opts.host);
      this.nms = nms;
      this.ctx = ctx;
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
      for (const [id, p] of this.publishers.all()) this.publishers.end(id, p, 'ingest closed');
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
    if (!this.guard.admit(socket)) return;
    socket.setTimeout(this.opts.idleTimeoutMs, () => {
      const p = this.publishers.bySocket(socket);
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

  /** Caps what the new connection's parser may allocate (rtmp/parser-bounds.ts). */
  private boundParser(socket: net.Socket): void {
    let session: NmsSession | undefined;
    for (const s of this.ctx?.sessions.values() ?? []) if (s.socket === socket) session = s;
    if (!session) return;
    const s = session;
    boundParser(s, () => this.hold.isHeld(s) || this.publishers.isPublisher(s));
  }

  private readonly onPrePublish = (s: NmsSession): void => {
    this.guard.markStarted(s.socket);
    const broadcast = this.ctx?.broadcasts.get(s.streamPath);
    // We report `ended` as soon as the publisher leaves, so NMS's 30 s "resume" window would only
    // hold the path hostage: a camera that reconnects is a new stream for us.
    if (broadcast) broadcast.publishGraceMs = 0;
    this.hold.gate(
      s,
      () => !this.refused.has(s) && this.ctx?.broadcasts.get(s.streamPath)?.publisher === s,
      () => {
        this.guard.handshakeRefusals++;
        this.refuse(s, `publisher of "${s.streamName}" sent more media than is held while its token is checked`);
      },
    );
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
      // sends into the live broadcast; its media is already gated (rtmp/media-hold.ts), and the
      // connection goes now.
      this.refuse(s, `second publisher for live stream "${id}" rejected`);
      return;
    }
    const { authorize, claims } = this.opts;
    if (!authorize && !claims) {
      this.accept(s);
      return;
    }
    this.hold.hold(s);
    const raw = queryParam(s, 'token');
    const token = typeof raw === 'string' ? raw : undefined;
    void admitLater(s, id, token, {
      authorize,
      claims,
      localRefusal: (i) => (this.publishers.has(i) ? 'already live here' : this.opts.admit?.(i)),
      isRefused: (x) => this.refused.has(x),
      refuse: (x, why) => this.refuse(x, why),
      accept: (x) => this.accept(x),
    });
  };

  /** Admits a publisher whose id and token passed: it becomes a Source, and its held media flows. Says whether it did. */
  private accept(s: NmsSession): boolean {
    const held = this.hold.take(s);
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
    const url = this.relay.playUrl(this.server?.address(), this.boundPort, this.opts.app, id);
    const publisher = this.publishers.add(s, id, url);
    this.log.info('RTMP publisher started', { id, remote: s.ip });
    this.hold.replay(s, held);
    this.events.next({ type: 'started', source: publisher.source });
    return true;
  }

  private readonly onPrePlay = (s: NmsSession): void => {
    this.guard.markStarted(s.socket);
    if (s.streamApp !== this.opts.app) this.refuse(s, `play from app "${s.streamApp}" rejected (only "${this.opts.app}" is served)`);
    else if (!this.relay.isOwnPlayer(s)) this.refuse(s, `play of "${s.streamName}" rejected: playing is for the service's own decoders`);
    // NMS would park a player of an absent stream until someone publishes; a decoder still
    // retrying an ended stream should fail fast instead (its restarts are bounded).
    else if (!this.publishers.has(s.streamName)) this.refuse(s, `play of "${s.streamName}" rejected: not live`);
    else this.relay.bound(s);
  };

  private refuse(s: NmsSession, why: string): void {
    this.refused.add(s);
    this.hold.drop(s);
    this.log.warn(why, { remote: s.ip });
    kick(s);
  }
}
