/** A real http server + Hub + AvlocWsServer on port 0, shared by the publish integration tests. */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createLogger } from '../../src/log.ts';
import type { FrameResult, StreamCounters } from '../../src/pipeline/types.ts';
import { Hub } from '../../src/publish/hub.ts';
import type { HubOptions } from '../../src/publish/hub.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { registerApiRoutes } from '../../src/publish/http-routes.ts';
import { AvlocMetrics } from '../../src/publish/metrics.ts';
import { AvlocWsServer } from '../../src/publish/ws-server.ts';
import type { WsServerOptions } from '../../src/publish/ws-server.ts';

export const log = createLogger('test', 'warn');
export const GRID = { h: 4, w: 6 };

export interface Rig {
  readonly server: Server;
  readonly hub: Hub;
  readonly metrics: AvlocMetrics;
  readonly wss: AvlocWsServer;
  readonly port: number;
  readonly url: string;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

export async function startRig(hubOpts: HubOptions = {}, wsOpts: Partial<WsServerOptions> = {}): Promise<Rig> {
  const metrics = new AvlocMetrics();
  const hub = new Hub({ metrics, log, ...hubOpts });
  const app = createHttpApp({
    log,
    routes: (api) => registerApiRoutes(api, { streams: () => hub.listStreams(), metrics, model: () => ({ name: 'test', ...{ gridH: GRID.h, gridW: GRID.w } }), version: '0.0.0-test' }),
  });
  await app.ready();
  const server = app.server;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new AvlocWsServer({ server, hub, pingIntervalMs: 0, model: { name: 'test', gridH: GRID.h, gridW: GRID.w }, log, ...wsOpts });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    hub,
    metrics,
    wss,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    sockets,
    async close() {
      await wss.close();
      hub.close();
      for (const s of sockets) s.destroy();
      await app.close();
    },
  };
}

export const counters = (n: number): StreamCounters => ({ decoded: n + 1, skipped: 2, dropped: 1, analyzed: n + 1 });

export function frameResult(streamId: string, index: number, jpeg?: Uint8Array): FrameResult {
  const heatmap = new Float32Array(GRID.h * GRID.w).map((_, i) => Math.fround(((i + index) % 7) / 7));
  const t = Date.now();
  return {
    streamId,
    frame: {
      streamId,
      index,
      ptsMs: index * 40,
      decodedAtMs: t - 20,
      captureAtMs: t - 30,
      width: 8,
      height: 8,
      rgb: new Uint8Array(0),
      ...(jpeg ? { jpeg } : {}),
    },
    hasAudio: true,
    gridH: GRID.h,
    gridW: GRID.w,
    heatmap,
    peak: { x: 1, y: 2, u: 0.25, v: 0.625, value: 0.9 },
    sounding: 0.75,
    timings: { decodeMs: 10, waitMs: 2, inferenceMs: 15 },
    batchSize: 2,
    doneAtMs: t - 1,
  };
}

