import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { join } from 'node:path';
import { Subject, from, map } from 'rxjs';
import { openWarmLocalizer } from './app/open-localizer.ts';
import { liveDecoderSettings } from './app/decoder-settings.ts';
import { PACKAGE_ROOT, resolveConfigPath } from './app/paths.ts';
import { RateControl } from './app/rate-control.ts';
import { StreamSession, type StreamSessionDeps } from './app/stream-session.ts';
import { Auth, bearerToken } from './auth/auth.ts';
import { checkExposure } from './auth/exposure.ts';
import { Cluster } from './cluster/cluster.ts';
import { resolveNodeId } from './cluster/node-id.ts';
import { mayPublish } from './auth/grants.ts';
import { createVerifier } from './auth/tokens.ts';
import type { Config } from './config/schema.ts';
import { AvlocError, describeError } from './errors.ts';
import { BatchRunner } from './inference/batch-runner.ts';
import { efficientBatch } from './inference/warmup.ts';
import { registerRemoteMetrics } from './inference/remote/remote-metrics.ts';
import { RemoteLocalizer } from './inference/remote/remote-localizer.ts';
import { RtmpIngest } from './ingest/rtmp-ingest.ts';
import { WhipIngest } from './ingest/whip-ingest.ts';
import type { Ingest, Source } from './media/source.ts';
import type { Logger } from './log.ts';
import { chooseFfmpeg, ffmpegInfo } from './media/ffmpeg-path.ts';
import { AudioCadence } from './pipeline/audio-cadence.ts';
import { StreamCounterRegistry } from './pipeline/counters.ts';
import { AnalysisRateGovernor } from './pipeline/analysis-rate.ts';
import { scheduleBatches, type SchedulerCore, type SchedulerInput } from './pipeline/scheduler.ts';
import { nowMs, type FrameResult } from './pipeline/types.ts';
import { createHttpApp } from './http/app.ts';
import { registerApiRoutes } from './publish/http-routes.ts';
import { Hub } from './publish/hub.ts';
import { AvlocMetrics } from './publish/metrics.ts';
import type { ModelInfo } from './wire/protocol.ts';
import { AvlocWsServer } from './publish/ws-server.ts';

/**
 * The live service: the one place that wires ingest → media → pipeline → inference → publish.
 *
 *   RTMP / WHIP ─▶ Source ─▶ Decoder ─▶ av-sync ─▶ audio cadence ─┐
 *                                  (one chain per stream)          ├─▶ scheduler ─▶ BatchRunner ─▶ Hub ─▶ WS
 *   RTMP / WHIP ─▶ Source ─▶ Decoder ─▶ av-sync ─▶ audio cadence ─┘   (one for all streams)
 *
 * A stream's chain is created when its publisher arrives and torn down when it leaves or breaks;
 * one broken stream never touches the others (docs/ARCHITECTURE.md, rules 5 and 6).
 */
export interface AvlocServer {
  readonly httpPort: number;
  /** null when RTMP ingest is disabled. */
  readonly rtmpPort: number | null;
  readonly model: ModelInfo;
  readonly hub: Hub;
  readonly metrics: AvlocMetrics;
  /** Cluster mode: this node's name (null on a single node). */
  readonly nodeId: string | null;
  /** The running ffmpeg decoder pids by stream id (for benchmarks and tests). */
  decoderPids(): Map<string, number>;
  close(): Promise<void>;
}

const VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Listens on the app's node server itself: fastify's listen() would open one server per address
 * a name like `localhost` resolves to, and the WebSocket upgrades are attached to this one only.
 */
function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new AvlocError('CONFIG_INVALID', `HTTP cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/** The configured token verifier, or none (anonymous). */
function authOf(config: Config): Auth {
  const a = config.auth;
  const verify = a.secret || a.jwksUrl
    ? createVerifier({
        ...(a.secret ? { secret: a.secret } : {}),
        ...(a.jwksUrl ? { jwksUrl: a.jwksUrl } : {}),
        ...(a.issuer ? { issuer: a.issuer } : {}),
        ...(a.audience ? { audience: a.audience } : {}),
      })
    : null;
  return new Auth(verify, config.http.allowedOrigins);
}

export async function startServer(config: Config, log: Logger): Promise<AvlocServer> {
  const auth = authOf(config);
  checkExposure({ http: config.http.host, ...(config.rtmp.enabled ? { rtmp: config.rtmp.host } : {}) }, auth.enabled, config.auth.allowAnonymous);
  if (auth.enabled) log.info('auth on: every door needs a token (avloc token)', { jwks: config.auth.jwksUrl ?? null, secret: config.auth.secret ? 'set' : 'unset' });
  else log.warn('auth off: anyone who can reach the listeners may publish and watch', { http: config.http.host, rtmp: config.rtmp.host });
  const ffmpeg = chooseFfmpeg();
  const ffmpegPath = ffmpeg.path;
  const ffInfo = ffmpegInfo(ffmpegPath);
  log.info('ffmpeg', {
    path: ffmpegPath,
    via: ffmpeg.via,
    version: ffInfo.version,
    static: ffInfo.isStatic,
    passedOver: ffmpeg.passedOver.map((c) => `${c.via}: ${c.rejected ?? ''}`),
  });
  const { localizer, warm } = await openWarmLocalizer(config, log, config.pipeline.adaptiveBatch);
  const maxBatchSize = warm?.visualMsPerFrame ? efficientBatch(warm.visualMsPerFrame) : config.pipeline.maxBatch;
  if (maxBatchSize !== config.pipeline.maxBatch) log.info('inference batches', { maxBatch: maxBatchSize, why: 'larger batches were no cheaper per frame at warm-up (pipeline.adaptiveBatch)' });
  const { card } = localizer;
  const model: ModelInfo = { name: card.name, gridH: card.visual.grid[0], gridW: card.visual.grid[1] };

  const metrics = new AvlocMetrics();
  if (localizer instanceof RemoteLocalizer) registerRemoteMetrics(metrics.registry, localizer.stats);
  const redisUrl = config.cluster.redis;
  const nodeId = redisUrl ? resolveNodeId(config.cluster.nodeId, config.http.port) : null;
  const hub = new Hub({ metrics, log: log.child('hub'), heatmapQueueLimit: config.clients.queueLimit, ...(nodeId ? { nodeId } : {}) });
  const cluster = redisUrl && nodeId ? new Cluster({ config: config.cluster, redisUrl, node: nodeId, hub, log: log.child('cluster') }) : null;
  cluster?.registerMetrics(metrics.registry);
  const counters = new StreamCounterRegistry();
  const cadence = new AudioCadence({ everyMs: config.pipeline.audioCadenceMs });
  const runner = new BatchRunner(localizer);
  const sessions = new Map<string, StreamSession>();
  const jobs$ = new Subject<SchedulerInput>();
  let scheduler: SchedulerCore | undefined;

  // ---- the shared half: scheduler → inference → hub ------------------------------------------
  const rateControl = config.pipeline.adaptiveRate
    ? new RateControl(new AnalysisRateGovernor(), () => sessions.values(), metrics.registry, log.child('rate'))
    : null;
  const runBatch = (batch: Parameters<BatchRunner['run']>[0]) => {
    const t0 = nowMs();
    return from(runner.run(batch)).pipe(
      map((results) => {
        const ms = nowMs() - t0;
        metrics.recordBatch(batch.length, ms / 1000);
        rateControl?.recordBatch(batch.length, ms);
        return results;
      }),
    );
  };
  const results = jobs$
    .pipe(
      scheduleBatches<FrameResult>(runBatch, {
        maxBatchSize,
        maxWaitMs: config.pipeline.maxWaitMs,
        deadlineMs: config.pipeline.deadlineMs,
        counters,
        onCore: (core) => (scheduler = core),
        onBatchError: (err, batch) => log.error('inference batch failed', { size: batch.jobs.length, error: describeError(err) }),
      }),
    )
    .subscribe((result) => {
      const c = counters.get(result.streamId);
      if (c) hub.publish(result, c);
    });

  // Counters of streams that produce no results (all skipped or dropped) still reach metrics/REST.
  const countersTimer = setInterval(() => {
    for (const [id, c] of counters.snapshot()) hub.updateCounters(id, c);
  }, 1000);
  countersTimer.unref();
  rateControl?.start();

  // ---- the per-stream half: one StreamSession per live stream --------------------------------
  const sessionDeps: StreamSessionDeps = {
    card,
    ffmpegPath,
    ...liveDecoderSettings(config),
    adaptiveRate: config.pipeline.adaptiveRate,
    avSyncMaxWaitMs: config.pipeline.avSyncMaxWaitMs,
    hub,
    counters,
    cadence,
    runner,
    jobs: jobs$,
    log,
  };
  /** Ends a stream; resolves once its decoder and publisher are closed. */
  const endStream = (id: string, reason: string): Promise<void> => {
    const s = sessions.get(id);
    if (!s) return Promise.resolve();
    sessions.delete(id);
    const closed = s.close(reason);   // subscribers everywhere hear `stream.ended` first…
    cluster?.release(id);             // …then the id is free for the cluster
    return closed;
  };
  if (cluster) {
    cluster.onLost = (id, holder) => {
      void endStream(id, `stream id taken over by node ${holder} while this node could not reach Redis`);
    };
  }

  const startStream = (source: Source): void => {
    if (sessions.has(source.id)) {
      log.warn('stream id already live; refusing the new publisher', { stream: source.id });
      void source.close();
      return;
    }
    if (atCapacity()) {   // the doors ask first; this catches WHIP offers that were negotiating meanwhile
      log.warn('at the live-stream cap; refusing the new publisher', { stream: source.id, maxStreams: config.limits.maxStreams });
      cluster?.abandon(source.id);
      void source.close();
      return;
    }
    if (cluster && !cluster.confirm(source.id, source.kind)) {
      log.warn('stream id taken over by another node while the publisher was being admitted; refusing it', { stream: source.id });
      cluster.abandon(source.id);
      void source.close();
      return;
    }
    const session = new StreamSession(source, sessionDeps, (self, reason) => {
      if (sessions.get(self.id) === self) void endStream(self.id, reason);
    });
    sessions.set(source.id, session);
    session.start();
  };

  // ---- HTTP, WebSocket, ingest -------------------------------------------------------------
  const viewerDir = resolveConfigPath(config.viewer.dir);
  if (!existsSync(join(viewerDir, 'index.html'))) {
    log.warn('web viewer not built; run `npm run build` (npm start does it)', { dir: viewerDir });
  }
  // One cap for every door: each live stream costs a decoder process.
  const atCapacity = (): boolean => sessions.size >= config.limits.maxStreams;
  const originOf = (req: IncomingMessage): string | null => {
    if (!auth.originAllowed(req)) return null;
    return typeof req.headers.origin === 'string' ? req.headers.origin : '*';
  };
  const whip = new WhipIngest({
    log: log.child('whip'),
    isLive: (id) => sessions.has(id),
    atCapacity,
    ...(cluster ? { claims: cluster } : {}),
    corsOrigin: originOf,
    ...(auth.enabled
      ? {
          authorize: async (req, id) => {
            await auth.authorize('whip', bearerToken(req), (g) => mayPublish(g, id), `publishing "${id}"`);
          },
        }
      : {}),
  });
  const app = createHttpApp({
    log: log.child('http'),
    staticDir: viewerDir,
    rateLimit: config.http.rateLimit,
    routes: (api) => {
      api.register(whip.routes);
      registerApiRoutes(api, {
        streams: () => hub.listStreams(),
        metrics,
        model: () => model,
        version: VERSION,
        health: () => ({
          ok: true,
          device: localizer.device,
          schedulerWaiting: scheduler?.waiting ?? 0,
          batchesInFlight: scheduler?.batchesInFlight ?? 0,
          clients: wsServer.clientCount,
          auth: auth.enabled,
          ...(cluster ? { cluster: cluster.health() } : {}),
        }),
        authorize: (req) => auth.authorize('rest', bearerToken(req), () => true, 'access'),
      });
    },
  });
  const http = app.server;
  const wsServer = new AvlocWsServer({
    server: http,
    hub,
    model,
    serverVersion: VERSION,
    log: log.child('ws'),
    originAllowed: (req) => auth.originAllowed(req),
    onRefused: (status) => {
      if (status === 401 || status === 403) auth.refused('ws');
    },
    ...(auth.enabled ? { authorize: (token: string | undefined) => auth.grants(token) } : {}),
  });

  const ingests: Ingest[] = [whip];
  let rtmp: RtmpIngest | null = null;
  if (config.rtmp.enabled) {
    rtmp = new RtmpIngest({
      port: config.rtmp.port,
      host: config.rtmp.host,
      logger: log.child('rtmp'),
      admit: (id) =>
        sessions.has(id) ? 'already live over WHIP' : atCapacity() ? `the service is at its cap of ${config.limits.maxStreams} live streams (limits.maxStreams)` : null,
      ...(cluster ? { claims: cluster } : {}),
      ...(auth.enabled
        ? {
            authorize: (id: string, token: string | undefined) =>
              auth.authorize('rtmp', token, (g) => mayPublish(g, id), `publishing "${id}"`).then(
                () => null,
                (err: unknown) => describeError(err),
              ),
          }
        : {}),
    });
    ingests.push(rtmp);
  }
  const relayOverflows = metrics.registry.counter(
    'avloc_rtmp_relay_overflows_total',
    'Decoders cut off from the RTMP relay for falling too far behind the live stream (they rejoin at the latest keyframe).',
  );
  metrics.registry.onCollect(() => relayOverflows.set({}, rtmp?.relayOverflows ?? 0));
  const handshakeRefusals = metrics.registry.counter(
    'avloc_rtmp_handshake_refusals_total',
    'RTMP connections refused or closed before publishing or playing: too many from one address or in all, over the byte budget, or over the media hold while the token is checked.',
  );
  metrics.registry.onCollect(() => handshakeRefusals.set({}, rtmp?.handshakeRefusals ?? 0));
  const authRefusals = metrics.registry.counter('avloc_auth_refusals_total', 'Requests refused for a missing, invalid or insufficient token, or a foreign origin, by door.');
  metrics.registry.onCollect(() => {
    for (const [door, n] of auth.refusals) authRefusals.set({ door }, n);
  });
  const ingestSubs = ingests.map((ingest) =>
    ingest.events$.subscribe((ev) => {
      if (ev.type === 'started') startStream(ev.source);
      else void endStream(ev.id, ev.reason);
    }),
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(countersTimer);
      rateControl?.stop();
      for (const s of ingestSubs) s.unsubscribe();
      // Every stream's decoder has exited and its publisher is gone before the ingests close.
      await Promise.allSettled([...sessions.keys()].map((id) => endStream(id, 'server shutting down')));
      await Promise.allSettled(ingests.map((i) => i.close()));
      await cluster?.close();
      jobs$.complete();
      results.unsubscribe();
      runner.close();
      await wsServer.close();
      hub.close();
      await app.close();   // closes `http` too, waiting for requests in flight
      http.closeAllConnections();
      await localizer.close();
    })();
    return closing;
  };

  let httpPort: number;
  let rtmpPort: number | null = null;
  try {
    cluster?.start();
    await app.ready();
    httpPort = await listen(http, config.http.port, config.http.host);
    for (const ingest of ingests) await ingest.start();
    rtmpPort = rtmp ? rtmp.port : null;
  } catch (err) {
    await close();
    throw err;
  }
  const shown = config.http.host === '0.0.0.0' || config.http.host === '127.0.0.1' ? 'localhost' : config.http.host;
  log.info(`viewer:    http://${shown}:${httpPort}/`);
  log.info(`websocket: ws://${shown}:${httpPort}/ws`);
  if (rtmpPort !== null) log.info(`rtmp:      rtmp://${shown}:${rtmpPort}/live/<stream id>`);
  log.info(`whip:      http://${shown}:${httpPort}/whip/<stream id>`);

  return {
    httpPort,
    rtmpPort,
    model,
    hub,
    metrics,
    nodeId,
    decoderPids: () => {
      const pids = new Map<string, number>();
      for (const [id, s] of sessions) if (s.decoderPid !== undefined) pids.set(id, s.decoderPid);
      return pids;
    },
    close,
  };
}
