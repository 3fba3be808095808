/**
 * node-media-server 4.4.3 as we use it: the parts of its untyped JavaScript we touch, how it is
 * loaded (its RTMP handler only: no listener, store, recorder or relay of its own), and where its
 * log goes. NMS keeps its state in a process-wide singleton (its Context), which is why only one
 * RtmpIngest may run per process (src/ingest/rtmp-ingest.ts).
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { Logger } from '../../log.ts';

/** The parts of an NMS session we touch. */
export interface NmsSession {
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

export interface NmsBroadcast {
  publisher: NmsSession | null;
  subscribers: Map<string, NmsSession>;
  publishGraceMs: number;
}

/** The parts of NMS's RTMP chunk parser (protocol/rtmp.js) that bound what a peer can allocate. */
export interface NmsParser {
  onPacketCallback: (packet: unknown) => void;
  /** Reads a chunk header; registers its chunk stream in inPackets. */
  packetParse: () => void;
  /** Allocates the message buffer the header announced (up to 16 MiB, before any payload arrives). */
  packetAlloc: () => void;
  readonly inPackets: Map<number, unknown>;
  readonly parserPacket: { readonly header: { readonly length: number } };
}

export interface NmsContext {
  sessions: Map<string, NmsSession>;
  broadcasts: Map<string, NmsBroadcast>;
  eventEmitter: import('node:events').EventEmitter;
}

export interface NmsInstance {
  rtmpServer: { handleRequest(socket: net.Socket): void };
  stop(): Promise<void>;
}

interface NmsLogger {
  level: string;
  log(message: string, level?: string): void;
}

const require = createRequire(import.meta.url);

/** A new NMS with no ports in its config, so it opens no listener of its own, and its Context. */
export function loadNms(host: string): { readonly nms: NmsInstance; readonly ctx: NmsContext } {
  const NodeMediaServer = require('node-media-server') as new (config: object) => NmsInstance;
  const nms = new NodeMediaServer({ bind: host, rtmp: {}, webadmin: { enable: false } });
  const ctx = require('node-media-server/src/core/context.js') as NmsContext;
  return { nms, ctx };
}

let nmsLogsRouted = false;

/**
 * NMS logs every connection with console.log at debug level (its constructor sets that level).
 * Route its one logger, once per process, to `current()` (the active ingest's logger); lines that
 * come while there is none (late socket 'close' events after an ingest closed) are dropped rather
 * than printed raw.
 */
export function routeNmsLogs(current: () => Logger | undefined): void {
  if (nmsLogsRouted) return;
  nmsLogsRouted = true;
  const nmsLogger = require('node-media-server/src/core/logger.js') as NmsLogger;
  nmsLogger.log = (message: string, level = 'info') => {
    const log = current();
    if (!log) return;
    // NMS "errors" are mostly a client's fault (bad stream name, duplicate publisher): warn.
    if (level === 'error' || level === 'warn') log.warn(message);
    else log.debug(message);
  };
}

/** A parameter of the session's URL query (`?token=`, `?key=`), as NMS parsed it. */
export function queryParam(s: NmsSession, name: string): unknown {
  return (s as { streamQuery?: Record<string, unknown> }).streamQuery?.[name];
}

/** Ends a session now: its socket if it has one, else through NMS. */
export function kick(s: NmsSession): void {
  if (s.socket) s.socket.destroy();
  else s.close();
}
