/**
 * The messages of the avloc WebSocket protocol, as zod schemas with the types derived from them
 * (docs/PROTOCOL.md is the prose version). The schemas are what parsing checks against, so a
 * field is added here once and both sides see it. Import the protocol through src/wire/protocol.ts.
 */
import { z } from 'zod';

/** 2: heatmaps carry `sounding` (docs/PROTOCOL.md, "Changes"). */
export const PROTOCOL_VERSION = 'avloc/2';

// ---------------------------------------------------------------------------------------------
// client → server

/** The schema is for this folder; src/wire/protocol.ts hands on only the type. */
export const StreamSelector = z.union([z.literal('*'), z.array(z.string().min(1).max(128)).max(256)]);
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
/** TimingsSchema and HeatmapHeaderSchema: also what the binary decoder checks its header against (heatmap-binary.ts). */
export const TimingsSchema = z.object({ decodeMs: num, waitMs: num, inferenceMs: num, sendMs: num });
const HeatmapCountersSchema = CountersSchema.extend({ queueDropped: count });

/** Everything in a heatmap except the grid values and the preview bytes. */
export const HeatmapHeaderSchema = z.object({
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
