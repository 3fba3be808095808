import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Subject, type Observable } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import { sendError } from '../http/error-handler.ts';
import { createLogger, type Logger } from '../log.ts';
import type { ClaimOutcome, Ingest, SourceEvent, StreamClaims } from '../media/source.ts';
import { mediaType, setCors } from './whip/http-util.ts';
import { filterOffer } from './whip/offer-filter.ts';
import { WhipSession } from './whip/whip-session.ts';

interface WhipRoute {
  Params: { id: string; resource?: string };
}
type WhipRequest = FastifyRequest<WhipRoute>;

/** A POST whose id is held for it while fastify reads its offer. */
interface Admission {
  readonly id: string;
  /** Taken by the handler, or given back because the request ended before it. */
  settled: boolean;
  readonly release: () => void;
}

export interface WhipIngestOptions {
  /** Host addresses gathered besides the machine's non-loopback interfaces. Default ['127.0.0.1']. */
  readonly iceAdditionalHostAddresses?: readonly string[];
  readonly iceUseIpv6?: boolean;
  readonly icePortRange?: readonly [number, number];
  readonly iceGatheringTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly stallTimeoutMs?: number;
  readonly keyframeRetryMs?: number;
  /** Where per-stream temp dirs (SDP files) go. Default os.tmpdir(). */
  readonly tmpRoot?: string;
  readonly maxOfferBytes?: number;
  /** Publishers accepted at once (including those negotiating); more get 503. Default 16. */
  readonly maxSessions?: number;
  /** True when a stream id is live through another door (RTMP): its POST gets 409 too. */
  readonly isLive?: (id: string) => boolean;
  /** True when the service is at its live-stream cap (all doors together): a new POST gets 503. */
  readonly atCapacity?: () => boolean;
  /**
   * Cluster mode: claims the id across the nodes before the offer is read; a refusal (the id is
   * live on another node) answers 409 like a local duplicate. A claim whose session never starts
   * is released.
   */
  readonly claims?: StreamClaims;
  /**
   * Asked before an offer is read and before a resource is deleted; throws AvlocError
   * UNAUTHORIZED or FORBIDDEN to refuse (401 / 403). The service checks the Bearer token here.
   */
  readonly authorize?: (req: IncomingMessage, id: string) => Promise<void>;
  /** The Origin to allow for this request's CORS answer, or null: not allowed (403). Default: any (`*`). */
  readonly corsOrigin?: (req: IncomingMessage) => string | null;
  readonly log?: Logger;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * WHIP ingest (RFC 9725): POST /whip/:id with an SDP offer creates a session whose media is
 * forwarded as RTP to an SDP file ffmpeg reads; DELETE on the returned Location ends it.
 * Trickle ICE and ICE restarts are not supported (PATCH → 405): the answer carries all candidates.
 */
export class WhipIngest implements Ingest {
  private readonly subject = new Subject<SourceEvent>();
  readonly events$: Observable<SourceEvent> = this.subject.asObservable();
  /** Sessions by stream id, including those still negotiating (so a second POST gets 409). */
  private readonly sessions = new Map<string, WhipSession | 'pending'>();
  private readonly admissions = new WeakMap<WhipRequest, Admission>();
  private readonly log: Logger;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WhipIngestOptions = {}) {
    this.log = options.log ?? createLogger('whip');
  }

  async start(): Promise<void> {
    if (this.closed) throw new AvlocError('CLOSED', 'WHIP ingest is closed');
  }

  /** The live session of a stream id, if any (for tests and stats). */
  session(id: string): WhipSession | undefined {
    const s = this.sessions.get(id);
    return s === 'pending' ? undefined : s;
  }

  /**
   * The WHIP routes, as a fastify plugin (its own scope): POST /whip/:id, DELETE and PATCH on
   * /whip/:id/:resource, OPTIONS on both. An offer is read as a string up to maxOfferBytes, and
   * only once it has been admitted; other bodies are read (bounded) and ignored, never refused.
   */
  readonly routes = async (scope: FastifyInstance): Promise<void> => {
    const bodyLimit = this.options.maxOfferBytes ?? 64 * 1024;
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/sdp', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, _body, done) => done(null, undefined));
    // preParsing: after the rate limit (onRequest), before fastify reads the offer.
    scope.post<WhipRoute>('/whip/:id', { preParsing: this.admit }, this.answerOffer);
    scope.delete<WhipRoute>('/whip/:id/:resource', this.hangUp);
    scope.patch<WhipRoute>('/whip/:id/:resource', this.refusePatch);
    scope.options<WhipRoute>('/whip/:id', this.preflight);
    scope.options<WhipRoute>('/whip/:id/:resource', this.preflight);
  };

  /**
   * POST, before the offer is read: origin, id, token, media type, duplicates and capacity are
   * checked and the id is held (and claimed in the cluster), so a refused publisher costs no read.
   */
  private readonly admit = async (request: WhipRequest, reply: FastifyReply): Promise<void> => {
    if (!this.cors(request, reply, 'POST, OPTIONS')) return;
    const id = request.params.id;
    if (this.closed) return void sendError(reply, 'CLOSED', 'WHIP ingest is shutting down');
    if (!ID_PATTERN.test(id)) return void sendError(reply, 'PROTOCOL_INVALID', 'stream id must be 1-64 characters of A-Z a-z 0-9 _ -');
    if (!(await this.authorized(request, reply, id))) return;
    if (mediaType(request.raw) !== 'application/sdp') {
      return void sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'WHIP offers must be sent as Content-Type: application/sdp', { 'Accept-Post': 'application/sdp' });
    }
    if (this.sessions.has(id) || this.options.isLive?.(id)) {
      return void sendError(reply, 'STREAM_EXISTS', `stream "${id}" is already being published`);
    }
    if (this.sessions.size >= (this.options.maxSessions ?? 16) || this.options.atCapacity?.()) {
      return void sendError(reply, 'AT_CAPACITY', 'too many WHIP publishers right now', { 'Retry-After': '10' });
    }
    this.sessions.set(id, 'pending');
    let claim: ClaimOutcome | undefined;
    if (this.options.claims) {
      try {
        claim = await this.options.claims.claim(id, 'whip');
      } catch (err) {
        this.sessions.delete(id);
        this.log.warn('WHIP offer failed', { id, err: describeError(err) });
        return void sendError(reply, 'INTERNAL', `could not set up the WHIP session: ${describeError(err)}`);
      }
      if (claim.refused !== null) {
        this.sessions.delete(id);
        return void sendError(reply, 'STREAM_EXISTS', `stream "${id}" is already being published: ${claim.refused}`);
      }
    }
    const held: Admission = {
      id,
      settled: false,
      release: () => {
        if (claim && claim.refused === null) claim.release();
      },
    };
    this.admissions.set(request, held);
    // An offer that never reaches the handler (over the limit, cut off) gives the id back.
    reply.raw.once('close', () => {
      if (held.settled) return;
      held.settled = true;
      if (this.sessions.get(id) === 'pending') this.sessions.delete(id);
      held.release();
    });
  };

  /** POST, the offer read: answer out (201 + Location). */
  private readonly answerOffer = async (request: WhipRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const held = this.admissions.get(request);
    if (!held || held.settled) return;   // the client went away while its offer was read
    held.settled = true;
    const { id, release } = held;
    try {
      let session: WhipSession;
      try {
        const offer = filterOffer(typeof request.body === 'string' ? request.body : '');
        session = await this.createSession(id, offer.sdp, release);
      } catch (err) {
        this.sessions.delete(id);
        release();
        throw err;
      }
      if (this.closed) {
        this.sessions.delete(id);
        await session.end('ingest closed', false);
        release();
        return sendError(reply, 'CLOSED', 'WHIP ingest is shutting down');
      }
      if (session.ended) {
        // It failed in the moment between answering and being registered (its onEnded found 'pending').
        this.sessions.delete(id);
        release();
        return sendError(reply, 'INTERNAL', 'WHIP session ended while it was being set up');
      }
      this.sessions.set(id, session);
      const path = (request.url.split('?')[0] ?? `/whip/${id}`).replace(/\/$/, '');
      this.log.info('WHIP offer answered', { id, resource: session.resourceId });
      return reply
        .code(201)
        .headers({ 'Content-Type': 'application/sdp', Location: `${path}/${session.resourceId}`, ETag: `"${session.resourceId}"` })
        .send(session.answerSdp);
    } catch (err) {
      if (err instanceof AvlocError && err.code === 'PROTOCOL_INVALID') return sendError(reply, 'PROTOCOL_INVALID', `bad WHIP offer: ${err.message}`);
      this.log.warn('WHIP offer failed', { id, err: describeError(err) });
      return sendError(reply, 'INTERNAL', `could not set up the WHIP session: ${describeError(err)}`);
    }
  };

  /** DELETE /whip/:id/:resource — the publisher hangs up. */
  private readonly hangUp = async (request: WhipRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    if (!this.cors(request, reply, 'DELETE, PATCH, OPTIONS')) return;
    if (!(await this.authorized(request, reply, request.params.id))) return;
    const session = this.session(request.params.id);
    if (!session || session.resourceId !== request.params.resource) {
      return sendError(reply, 'NOT_FOUND', 'no such WHIP resource');
    }
    await session.end('publisher sent DELETE');
    return reply.code(200).send();
  };

  /** PATCH /whip/:id/:resource — trickle ICE / ICE restart, not supported (RFC 9725 §4.3.1). */
  private readonly refusePatch = async (request: WhipRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    if (!this.cors(request, reply, 'DELETE, PATCH, OPTIONS')) return;
    return sendError(reply, 'METHOD_NOT_ALLOWED', 'trickle ICE and ICE restarts are not supported; the answer carries all candidates', {
      Allow: 'DELETE, OPTIONS',
    });
  };

  /** OPTIONS on /whip/:id or /whip/:id/:resource — CORS preflight. */
  private readonly preflight = async (request: WhipRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const onResource = request.params.resource !== undefined;
    if (!this.cors(request, reply, onResource ? 'DELETE, PATCH, OPTIONS' : 'POST, OPTIONS')) return;
    if (!onResource) reply.header('Accept-Post', 'application/sdp');
    return reply.code(204).send();
  };

  /** Sets the CORS headers for an allowed origin; answers 403 (and returns false) for another one. */
  private cors(request: WhipRequest, reply: FastifyReply, methods: string): boolean {
    const origin = this.options.corsOrigin ? this.options.corsOrigin(request.raw) : '*';
    if (origin === null) {
      sendError(reply, 'FORBIDDEN', `origin ${String(request.headers.origin)} may not publish here (http.allowedOrigins)`);
      return false;
    }
    setCors(reply, methods, origin);
    return true;
  }

  /** Runs the authorize hook; a refusal is answered (401 with WWW-Authenticate, or 403) and false returned. */
  private async authorized(request: WhipRequest, reply: FastifyReply, id: string): Promise<boolean> {
    if (!this.options.authorize) return true;
    try {
      await this.options.authorize(request.raw, id);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof AvlocError && (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN')) sendError(reply, err.code, message);
      else sendError(reply, 'INTERNAL', `authorization failed: ${message}`);
      return false;
    }
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        const live = [...this.sessions.values()].filter((s): s is WhipSession => s !== 'pending');
        await Promise.all(live.map((s) => s.end('ingest closed')));
        this.subject.complete();
      })();
    }
    return this.closing;
  }

  /** `unclaim` gives the id back if the session ends without ever starting (a started one is the service's). */
  private createSession(id: string, offerSdp: string, unclaim: () => void): Promise<WhipSession> {
    const o = this.options;
    let started = false;
    return WhipSession.create({
      id,
      resourceId: randomUUID(),
      offerSdp,
      log: this.log,
      iceAdditionalHostAddresses: o.iceAdditionalHostAddresses ?? ['127.0.0.1'],
      iceUseIpv6: o.iceUseIpv6 ?? false,
      ...(o.icePortRange ? { icePortRange: o.icePortRange } : {}),
      iceGatheringTimeoutMs: o.iceGatheringTimeoutMs ?? 5000,
      connectTimeoutMs: o.connectTimeoutMs ?? 15_000,
      stallTimeoutMs: o.stallTimeoutMs ?? 10_000,
      keyframeRetryMs: o.keyframeRetryMs ?? 1000,
      ...(o.tmpRoot ? { tmpRoot: o.tmpRoot } : {}),
      onStarted: (session) => {
        started = true;
        if (!this.subject.closed) this.subject.next({ type: 'started', source: session });
      },
      onEnded: (session, reason) => {
        if (this.sessions.get(id) === session) this.sessions.delete(id);
        // A session that never started was never announced, so there is nothing to end for listeners.
        if (started && !this.subject.closed) this.subject.next({ type: 'ended', id, reason });
        if (!started) unclaim();
      },
    });
  }
}
