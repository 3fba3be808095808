import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Subject, type Observable } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import type { ClaimOutcome, Ingest, SourceEvent, StreamClaims } from '../media/source.ts';
import { sendError } from '../http/answers.ts';
import { readBody } from '../http/router.ts';
import type { RouteParams } from '../http/router.ts';
import { mediaType, setCors } from './whip/http-util.ts';
import { filterOffer } from './whip/offer-filter.ts';
import { WhipSession } from './whip/whip-session.ts';

export type WhipHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams) => Promise<void>;

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

  /** POST /whip/:id — offer in, answer out (201 + Location). */
  readonly handlePost: WhipHandler = async (req, res, params) => {
    if (!this.cors(req, res, 'POST, OPTIONS')) return;
    const id = params.id ?? '';
    try {
      if (this.closed) return sendError(res, 'CLOSED', 'WHIP ingest is shutting down');
      if (!ID_PATTERN.test(id)) return sendError(res, 'PROTOCOL_INVALID', 'stream id must be 1-64 characters of A-Z a-z 0-9 _ -');
      if (!(await this.authorized(req, res, id))) return;
      if (mediaType(req) !== 'application/sdp') {
        req.resume();
        return sendError(res, 'UNSUPPORTED_MEDIA_TYPE', 'WHIP offers must be sent as Content-Type: application/sdp', { 'Accept-Post': 'application/sdp' });
      }
      if (this.sessions.has(id) || this.options.isLive?.(id)) {
        req.resume();
        return sendError(res, 'STREAM_EXISTS', `stream "${id}" is already being published`);
      }
      if (this.sessions.size >= (this.options.maxSessions ?? 16) || this.options.atCapacity?.()) {
        req.resume();
        return sendError(res, 'AT_CAPACITY', 'too many WHIP publishers right now', { 'Retry-After': '10' });
      }
      this.sessions.set(id, 'pending');
      let claim: ClaimOutcome | undefined;
      if (this.options.claims) {
        try {
          claim = await this.options.claims.claim(id, 'whip');
        } catch (err) {
          this.sessions.delete(id);
          throw err;
        }
        if (claim.refused !== null) {
          this.sessions.delete(id);
          req.resume();
          return sendError(res, 'STREAM_EXISTS', `stream "${id}" is already being published: ${claim.refused}`);
        }
      }
      const release = (): void => {
        if (claim && claim.refused === null) claim.release();
      };
      let session: WhipSession;
      try {
        const body = await readBody(req, this.options.maxOfferBytes ?? 64 * 1024);
        const offer = filterOffer(body.toString('utf8'));
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
        return sendError(res, 'CLOSED', 'WHIP ingest is shutting down');
      }
      if (session.ended) {
        // It failed in the moment between answering and being registered (its onEnded found 'pending').
        this.sessions.delete(id);
        release();
        return sendError(res, 'INTERNAL', 'WHIP session ended while it was being set up');
      }
      this.sessions.set(id, session);
      const path = (req.url ?? `/whip/${id}`).split('?')[0]!.replace(/\/$/, '');
      res.writeHead(201, {
        'Content-Type': 'application/sdp',
        Location: `${path}/${session.resourceId}`,
        ETag: `"${session.resourceId}"`,
        'Content-Length': Buffer.byteLength(session.answerSdp),
      });
      res.end(session.answerSdp);
      this.log.info('WHIP offer answered', { id, resource: session.resourceId });
    } catch (err) {
      if (err instanceof AvlocError && err.code === 'PROTOCOL_INVALID') {
        sendError(res, 'PROTOCOL_INVALID', `bad WHIP offer: ${err.message}`);
      } else if (err instanceof AvlocError && err.code === 'PAYLOAD_TOO_LARGE') {
        sendError(res, 'PAYLOAD_TOO_LARGE', `WHIP offer too large: ${err.message}`);
      } else {
        this.log.warn('WHIP offer failed', { id, err: describeError(err) });
        sendError(res, 'INTERNAL', `could not set up the WHIP session: ${describeError(err)}`);
      }
    }
  };

  /** DELETE /whip/:id/:resource — the publisher hangs up. */
  readonly handleDelete: WhipHandler = async (req, res, params) => {
    if (!this.cors(req, res, 'DELETE, PATCH, OPTIONS')) return;
    req.resume();
    if (!(await this.authorized(req, res, params.id ?? ''))) return;
    const session = this.session(params.id ?? '');
    if (!session || session.resourceId !== params.resource) {
      return sendError(res, 'NOT_FOUND', 'no such WHIP resource');
    }
    await session.end('publisher sent DELETE');
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  };

  /** PATCH /whip/:id/:resource — trickle ICE / ICE restart, not supported (RFC 9725 §4.3.1). */
  readonly handlePatch: WhipHandler = async (req, res) => {
    if (!this.cors(req, res, 'DELETE, PATCH, OPTIONS')) return;
    req.resume();
    sendError(res, 'METHOD_NOT_ALLOWED', 'trickle ICE and ICE restarts are not supported; the answer carries all candidates', {
      Allow: 'DELETE, OPTIONS',
    });
  };

  /** OPTIONS on /whip/:id or /whip/:id/:resource — CORS preflight. */
  readonly handleOptions: WhipHandler = async (req, res, params) => {
    req.resume();
    const onResource = params.resource !== undefined;
    if (!this.cors(req, res, onResource ? 'DELETE, PATCH, OPTIONS' : 'POST, OPTIONS')) return;
    if (!onResource) res.setHeader('Accept-Post', 'application/sdp');
    res.writeHead(204);
    res.end();
  };

  /** Sets the CORS headers for an allowed origin; answers 403 (and returns false) for another one. */
  private cors(req: IncomingMessage, res: ServerResponse, methods: string): boolean {
    const origin = this.options.corsOrigin ? this.options.corsOrigin(req) : '*';
    if (origin === null) {
      req.resume();
      sendError(res, 'FORBIDDEN', `origin ${String(req.headers.origin)} may not publish here (http.allowedOrigins)`);
      return false;
    }
    setCors(res, methods, origin);
    return true;
  }

  /** Runs the authorize hook; a refusal is answered (401 with WWW-Authenticate, or 403) and false returned. */
  private async authorized(req: IncomingMessage, res: ServerResponse, id: string): Promise<boolean> {
    if (!this.options.authorize) return true;
    try {
      await this.options.authorize(req, id);
      return true;
    } catch (err) {
      req.resume();
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof AvlocError && (err.code === 'UNAUTHORIZED' || err.code === 'FORBIDDEN')) sendError(res, err.code, message);
      else sendError(res, 'INTERNAL', `authorization failed: ${message}`);
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
