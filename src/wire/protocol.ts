/**
 * The avloc WebSocket protocol, version `avloc/2` (docs/PROTOCOL.md is the prose version).
 *
 * Isomorphic on purpose: the Node server, the Node client and the browser viewer all import this
 * file, so it uses only zod, TextEncoder/TextDecoder and DataView — no Buffer, no node: modules.
 *
 * Text frames carry JSON control messages both ways. Heatmaps travel either as JSON text frames
 * or as compact binary frames (see encodeHeatmapBinary). A heatmap has a *shared* part, the same
 * for every subscriber and encoded once per result, and a small *per-send* part (sentAtMs, sendMs,
 * this client's queue drops) that is only known when the message is written to one socket. The
 * encoders return the shared part plus a function that renders the per-send part, so the hub can
 * write `[shared, perSend]` without copying the shared bytes for each client.
 */
import { z } from 'zod';
import { AvlocError } from '../errors.ts';

/** 2: heatmaps carry `sounding` (docs/PROTOCOL.md, "Changes"). */
export const PROTOCOL_VERSION = 'avloc/2';

// ---------------------------------------------------------------------------------------------
// client → server

const StreamSelector = z.union([z.literal('*'), z.array(z.string().min(1).max(128)).max(256)]);
export type StreamSelector = z.infer<typeof StreamSelector>;

export const HeatmapFormat = z.enum(['binary', 'json']);
export type HeatmapFormat = z.infer<typeof HeatmapFormat>;

export const SubscribeMessage = z
  .object({
    type: z.literal('subscribe'),
    streams: StreamSelector,
    format: HeatmapFormat.default('binary'),
    preview: z.boolean().default(false),
  })
  .strict();

export const UnsubscribeMessage = z
  .object({ type: z.literal('unsubscribe'), streams: StreamSelector })
  .strict();

/** Application-level ping (browsers cannot send WebSocket pings); `id` is echoed in the pong. */
export const PingMessage = z
  .object({ type: z.literal('ping'), id: z.union([z.string().max(64), z.number()]).optional() })
  .strict();

export const ClientMessage = z.discriminatedUnion('type', [SubscribeMessage, UnsubscribeMessage, PingMessage]);
export type ClientMessage = z.infer<typeof ClientMessage>;
/** What a caller may write (defaults filled in by the schema). */
export type ClientMessageInput = z.input<typeof ClientMessage>;
export type SubscribeMessage = z.infer<typeof SubscribeMessage>;

// ---------------------------------------------------------------------------------------------
// server → client

const num = z.number().finite();
const count = z.number().int().nonnegative();

export const StreamKind = z.enum(['rtmp', 'whip', 'file']);
export const StreamState = z.enum(['starting', 'live', 'stalled', 'ended']);
export type StreamState = z.infer<typeof StreamState>;

export const CountersSchema = z.object({
  decoded: count,
  skipped: count,
  dropped: count,
  analyzed: count,
});

export const StreamSummary = z.object({
  id: z.string(),
  kind: StreamKind,
  state: StreamState,
  startedAtMs: num,
  /** null until the decoder has probed the stream. */
  hasAudio: z.boolean().nullable(),
  hasVideo: z.boolean().nullable(),
  counters: CountersSchema,
  /** Heatmaps dropped for slow clients on this stream, all clients together. */
  queueDropped: count,
  /** Cluster mode: the node running the stream (absent on a single node). */
  node: z.string().optional(),
});
export type StreamSummary = z.infer<typeof StreamSummary>;

export const ModelInfo = z.object({ name: z.string(), gridH: count, gridW: count });
export type ModelInfo = z.infer<typeof ModelInfo>;

export const HelloMessage = z.object({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  server: z.object({ name: z.string(), version: z.string() }),
  model: ModelInfo.nullable(),
  /** Largest text message the server accepts, in bytes. */
  maxMessageBytes: count,
});

export const StreamsMessage = z.object({ type: z.literal('streams'), streams: z.array(StreamSummary) });

export const StreamStartedMessage = z.object({
  type: z.literal('stream.started'),
  id: z.string(),
  kind: StreamKind,
  startedAtMs: num,
  /** Cluster mode: the node running the stream (absent on a single node). */
  node: z.string().optional(),
});

export const StreamEndedMessage = z.object({
  type: z.literal('stream.ended'),
  id: z.string(),
  reason: z.string(),
});

export const StreamInfoMessage = z.object({
  type: z.literal('stream.info'),
  id: z.string(),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  videoCodec: z.string().optional(),
  audioCodec: z.string().optional(),
  width: count.optional(),
  height: count.optional(),
  fps: num.optional(),
  sampleRate: count.optional(),
});
export type StreamInfo = Omit<z.infer<typeof StreamInfoMessage>, 'type'>;

export const StreamErrorMessage = z.object({
  type: z.literal('stream.error'),
  id: z.string(),
  code: z.string(),
  message: z.string(),
});

export const ErrorMessage = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });

export const PongMessage = z.object({
  type: z.literal('pong'),
  id: z.union([z.string(), z.number()]).optional(),
  serverTimeMs: num,
});

const PeakSchema = z.object({ x: count, y: count, u: num, v: num, value: num });
const TimingsSchema = z.object({ decodeMs: num, waitMs: num, inferenceMs: num, sendMs: num });
const HeatmapCountersSchema = CountersSchema.extend({ queueDropped: count });

/** Everything in a heatmap except the grid values and the preview bytes. */
const HeatmapHeaderSchema = z.object({
  type: z.literal('heatmap'),
  streamId: z.string(),
  frame: count,
  ptsMs: num,
  captureAtMs: num,
  decodedAtMs: num,
  doneAtMs: num,
  sentAtMs: num,
  timings: TimingsSchema,
  grid: z.object({ h: count, w: count }),
  peak: PeakSchema,
  /** P(something in view is sounding) in [0, 1], from the model card's calibration; null without one. */
  sounding: z.number().min(0).max(1).nullable(),
  counters: HeatmapCountersSchema,
  hasAudio: z.boolean(),
  batchSize: count,
});

/** The JSON form: grid values as numbers, preview JPEG as base64. */
export const HeatmapJsonMessage = HeatmapHeaderSchema.extend({
  grid: z.object({ h: count, w: count, values: z.array(num) }),
  preview: z.object({ mime: z.literal('image/jpeg'), base64: z.string() }).optional(),
});

export const ServerTextMessage = z.discriminatedUnion('type', [
  HelloMessage,
  StreamsMessage,
  StreamStartedMessage,
  StreamEndedMessage,
  StreamInfoMessage,
  StreamErrorMessage,
  ErrorMessage,
  PongMessage,
  HeatmapJsonMessage,
]);
export type ServerTextMessage = z.infer<typeof ServerTextMessage>;
/** Control messages: everything the server sends except heatmaps. */
export type ControlMessage = Exclude<ServerTextMessage, { type: 'heatmap' }>;

/** A heatmap as the client hands it to applications, whichever wire format carried it. */
export interface Heatmap {
  readonly type: 'heatmap';
  readonly streamId: string;
  readonly frame: number;
  readonly ptsMs: number;
  readonly captureAtMs: number;
  readonly decodedAtMs: number;
  readonly doneAtMs: number;
  readonly sentAtMs: number;
  readonly timings: { decodeMs: number; waitMs: number; inferenceMs: number; sendMs: number };
  readonly grid: { h: number; w: number; values: Float32Array };
  readonly peak: { x: number; y: number; u: number; v: number; value: number };
  readonly sounding: number | null;
  readonly counters: { decoded: number; skipped: number; dropped: number; analyzed: number; queueDropped: number };
  readonly hasAudio: boolean;
  readonly batchSize: number;
  /** JPEG bytes of the same frame, when the subscription asked for previews and the stream has them. */
  readonly preview?: Uint8Array;
}

/** What the server publishes (the shared part), before the per-send fields are known. */
export type HeatmapSource = Omit<Heatmap, 'sentAtMs' | 'timings' | 'counters'> & {
  readonly timings: { decodeMs: number; waitMs: number; inferenceMs: number };
  readonly counters: { decoded: number; skipped: number; dropped: number; analyzed: number };
};

/** The fields known only when a message is written to one client's socket. */
export interface PerSend {
  readonly sentAtMs: number;
  readonly queueDropped: number;
}

// ---------------------------------------------------------------------------------------------
// encoding

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string, cause?: unknown): AvlocError {
  return new AvlocError('PROTOCOL_INVALID', message, cause === undefined ? undefined : { cause });
}

function zodIssue(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid message';
}

/** Parses a client's text frame; throws AvlocError('PROTOCOL_INVALID') with a readable reason. */
export function parseClientMessage(text: string): ClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid('message is not valid JSON', err);
  }
  const r = ClientMessage.safeParse(raw);
  if (!r.success) throw invalid(`bad client message: ${zodIssue(r.error)}`, r.error);
  return r.data;
}

/** Parses a server's text frame (control message or JSON heatmap). */
export function parseServerText(text: string): ServerTextMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid('message is not valid JSON', err);
  }
  const r = ServerTextMessage.safeParse(raw);
  if (!r.success) throw invalid(`bad server message: ${zodIssue(r.error)}`, r.error);
  return r.data;
}

export function encodeControl(msg: ControlMessage): string {
  return JSON.stringify(msg);
}

/** The binary heatmap frame starts with these 4 bytes ("AVLH"). */
export const BINARY_MAGIC = 0x41564c48;
export const BINARY_VERSION = 1;
/** Byte offsets of the fixed prefix (little-endian); see docs/PROTOCOL.md. */
export const BINARY_LAYOUT = {
  magic: 0, // u32 BE "AVLH"
  version: 4, // u8
  flags: 5, // u8, bit 0: preview present
  reserved: 6, // u16, 0
  sentAtMs: 8, // f64
  sendMs: 16, // f64
  queueDropped: 24, // u32
  headerLength: 28, // u32: N bytes of UTF-8 JSON header that follow
  header: 32, // then zero padding to a multiple of 4, then h*w f32 grid, then the JPEG to the end
} as const;
const PREFIX_BYTES = BINARY_LAYOUT.header;
const FLAG_PREVIEW = 1;

/** An encoded heatmap: shared bytes plus a renderer for the per-send part. */
export interface EncodedHeatmap {
  readonly format: HeatmapFormat;
  /** Shared by every client. Binary: written after `perSend()`. JSON: written before it. */
  readonly shared: Uint8Array;
  readonly perSendFirst: boolean;
  /** Renders the few bytes that differ per client and per write. */
  perSend(p: PerSend): Uint8Array;
  /** Total message size in bytes (shared + per-send, the latter's size is fixed per format ±). */
  readonly byteLength: number;
}

function headerOf(h: HeatmapSource): Omit<z.infer<typeof HeatmapHeaderSchema>, 'sentAtMs' | 'timings' | 'counters'> & {
  timings: HeatmapSource['timings'];
  counters: HeatmapSource['counters'];
} {
  return {
    type: 'heatmap',
    streamId: h.streamId,
    frame: h.frame,
    ptsMs: h.ptsMs,
    captureAtMs: h.captureAtMs,
    decodedAtMs: h.decodedAtMs,
    doneAtMs: h.doneAtMs,
    timings: h.timings,
    grid: { h: h.grid.h, w: h.grid.w },
    peak: h.peak,
    sounding: h.sounding,
    counters: h.counters,
    hasAudio: h.hasAudio,
    batchSize: h.batchSize,
  };
}

function sendMsOf(h: { doneAtMs: number }, p: PerSend): number {
  return Math.max(0, p.sentAtMs - h.doneAtMs);
}

/**
 * Binary heatmap frame. The shared part is the header (JSON, without the per-send fields, which
 * live at fixed offsets of the prefix), the float32 grid and the preview; the per-send part is the
 * 32-byte prefix. A reader concatenates nothing: it gets one WebSocket message, prefix first.
 */
export function encodeHeatmapBinary(h: HeatmapSource, withPreview: boolean): EncodedHeatmap {
  const n = h.grid.h * h.grid.w;
  if (h.grid.values.length !== n) throw invalid(`grid has ${h.grid.values.length} values, expected ${n}`);
  const header = te.encode(JSON.stringify(headerOf(h)));
  const preview = withPreview ? h.preview : undefined;
  const gridOffset = align4(PREFIX_BYTES + header.length) - PREFIX_BYTES;
  const sharedLen = gridOffset + n * 4 + (preview?.length ?? 0);
  const shared = new Uint8Array(sharedLen);
  shared.set(header, 0);
  const dv = new DataView(shared.buffer, shared.byteOffset, shared.byteLength);
  for (let i = 0; i < n; i++) dv.setFloat32(gridOffset + i * 4, h.grid.values[i] ?? 0, true);
  if (preview) shared.set(preview, gridOffset + n * 4);
  const flags = preview ? FLAG_PREVIEW : 0;
  const headerLength = header.length;
  return {
    format: 'binary',
    shared,
    perSendFirst: true,
    byteLength: PREFIX_BYTES + sharedLen,
    perSend(p: PerSend): Uint8Array {
      const b = new Uint8Array(PREFIX_BYTES);
      const v = new DataView(b.buffer);
      v.setUint32(BINARY_LAYOUT.magic, BINARY_MAGIC, false);
      v.setUint8(BINARY_LAYOUT.version, BINARY_VERSION);
      v.setUint8(BINARY_LAYOUT.flags, flags);
      v.setFloat64(BINARY_LAYOUT.sentAtMs, p.sentAtMs, true);
      v.setFloat64(BINARY_LAYOUT.sendMs, sendMsOf(h, p), true);
      v.setUint32(BINARY_LAYOUT.queueDropped, p.queueDropped, true);
      v.setUint32(BINARY_LAYOUT.headerLength, headerLength, true);
      return b;
    },
  };
}

/**
 * JSON heatmap. The shared part is the JSON object without its closing brace; the per-send part
 * appends `"sentAtMs":…,"timings":{…},"counters":{…}}`. Keys are unique, so the result is plain JSON.
 */
export function encodeHeatmapJson(h: HeatmapSource, withPreview: boolean): EncodedHeatmap {
  const n = h.grid.h * h.grid.w;
  if (h.grid.values.length !== n) throw invalid(`grid has ${h.grid.values.length} values, expected ${n}`);
  const { timings, counters, ...rest } = headerOf(h);
  const body: Record<string, unknown> = { ...rest, grid: { h: h.grid.h, w: h.grid.w, values: Array.from(h.grid.values, (v) => (Number.isFinite(v) ? v : 0)) } };
  if (withPreview && h.preview) body.preview = { mime: 'image/jpeg', base64: base64Encode(h.preview) };
  const text = JSON.stringify(body);
  const shared = te.encode(`${text.slice(0, -1)},`);
  return {
    format: 'json',
    shared,
    perSendFirst: false,
    byteLength: shared.length + 200,
    perSend(p: PerSend): Uint8Array {
      const t = { ...timings, sendMs: sendMsOf(h, p) };
      const c = { ...counters, queueDropped: p.queueDropped };
      return te.encode(`"sentAtMs":${JSON.stringify(p.sentAtMs)},"timings":${JSON.stringify(t)},"counters":${JSON.stringify(c)}}`);
    },
  };
}

export function encodeHeatmap(h: HeatmapSource, format: HeatmapFormat, withPreview: boolean): EncodedHeatmap {
  return format === 'binary' ? encodeHeatmapBinary(h, withPreview) : encodeHeatmapJson(h, withPreview);
}

/** Joins an encoded heatmap into one message (tests, and writers that cannot send fragments). */
export function assembleHeatmap(e: EncodedHeatmap, p: PerSend): Uint8Array {
  const ps = e.perSend(p);
  const out = new Uint8Array(ps.length + e.shared.length);
  if (e.perSendFirst) {
    out.set(ps, 0);
    out.set(e.shared, ps.length);
  } else {
    out.set(e.shared, 0);
    out.set(ps, e.shared.length);
  }
  return out;
}

/** Decodes a binary heatmap frame; throws AvlocError('PROTOCOL_INVALID') on anything malformed. */
export function decodeHeatmapBinary(data: ArrayBuffer | ArrayBufferView): Heatmap {
  const bytes =
    data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < PREFIX_BYTES) throw invalid(`binary message too short (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(BINARY_LAYOUT.magic, false) !== BINARY_MAGIC) throw invalid('binary message has a bad magic');
  const version = dv.getUint8(BINARY_LAYOUT.version);
  if (version !== BINARY_VERSION) throw invalid(`unsupported binary version ${version}`);
  const flags = dv.getUint8(BINARY_LAYOUT.flags);
  const sentAtMs = dv.getFloat64(BINARY_LAYOUT.sentAtMs, true);
  const sendMs = dv.getFloat64(BINARY_LAYOUT.sendMs, true);
  const queueDropped = dv.getUint32(BINARY_LAYOUT.queueDropped, true);
  const headerLength = dv.getUint32(BINARY_LAYOUT.headerLength, true);
  if (PREFIX_BYTES + headerLength > bytes.length) throw invalid('binary header runs past the end of the message');
  let raw: unknown;
  try {
    raw = JSON.parse(td.decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch (err) {
    throw invalid('binary header is not valid UTF-8 JSON', err);
  }
  const r = HeatmapHeaderSchema.omit({ sentAtMs: true })
    .extend({
      timings: TimingsSchema.omit({ sendMs: true }),
      counters: CountersSchema,
    })
    .safeParse(raw);
  if (!r.success) throw invalid(`bad binary header: ${zodIssue(r.error)}`, r.error);
  const hdr = r.data;
  const n = hdr.grid.h * hdr.grid.w;
  const gridAt = align4(PREFIX_BYTES + headerLength);
  const gridEnd = gridAt + n * 4;
  if (gridEnd > bytes.length) throw invalid(`binary grid needs ${n * 4} bytes, message is too short`);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = dv.getFloat32(gridAt + i * 4, true);
  const hasPreview = (flags & FLAG_PREVIEW) !== 0;
  if (!hasPreview && gridEnd !== bytes.length) throw invalid('binary message has trailing bytes');
  const base = {
    ...hdr,
    sentAtMs,
    timings: { ...hdr.timings, sendMs },
    counters: { ...hdr.counters, queueDropped },
    grid: { h: hdr.grid.h, w: hdr.grid.w, values },
  };
  return hasPreview ? { ...base, preview: bytes.slice(gridEnd) } : base;
}

/** Turns a parsed JSON heatmap into the same shape the binary decoder returns. */
export function heatmapFromJson(m: z.infer<typeof HeatmapJsonMessage>): Heatmap {
  const n = m.grid.h * m.grid.w;
  if (m.grid.values.length !== n) throw invalid(`grid has ${m.grid.values.length} values, expected ${n}`);
  const { preview, grid, ...rest } = m;
  const base = { ...rest, grid: { h: grid.h, w: grid.w, values: Float32Array.from(grid.values) } };
  if (!preview) return base;
  try {
    return { ...base, preview: base64Decode(preview.base64) };
  } catch (err) {
    throw invalid('preview is not valid base64', err);
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

// Base64 without Buffer or atob, so the module runs the same everywhere.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function base64Encode(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    chunk += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
    // Flush now and then so the string builder does not make one huge rope.
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] ?? 0) << 16;
    chunk += `${B64[(n >> 18) & 63]!}${B64[(n >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    chunk += `${B64[(n >> 18) & 63]!}${B64[(n >> 12) & 63]!}${B64[(n >> 6) & 63]!}=`;
  }
  parts.push(chunk);
  return parts.join('');
}

export function base64Decode(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new Error('base64 length is not a multiple of 4');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      const isPad = c === 61 && i + j >= s.length - pad;
      const v = isPad ? 0 : c < 128 ? (B64_INDEX[c] ?? -1) : -1;
      if (v < 0) throw new Error(`bad base64 character at ${i + j}`);
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
