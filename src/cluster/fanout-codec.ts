/**
 * What nodes send each other over pub/sub.
 *
 * A heatmap travels in the WebSocket binary format itself (src/wire/protocol/heatmap-binary.ts:
 * header, float32 grid, optional JPEG), behind a small envelope naming the node that sent it:
 *
 *   0  4  magic "AVLC"        4  1  envelope version = 1      5  1  N = node id length (bytes)
 *   6  N  node id (UTF-8)     6+N   a binary heatmap message (its per-send prefix zeroed)
 *
 * so the receiver decodes it with the same validating decoder as any client, and the grid values
 * arrive bit for bit. Stream events are JSON: `{"v":1,"node","claim","event":{…}}`, the event being
 * the very `stream.*` message the hub broadcasts.
 */
import { z } from 'zod';
import { AvlocError } from '../errors.ts';
import type { StreamEvent } from '../publish/hub-events.ts';
import {
  StreamEndedMessage,
  StreamErrorMessage,
  StreamInfoMessage,
  StreamStartedMessage,
  assembleHeatmap,
  decodeHeatmapBinary,
  encodeHeatmapBinary,
} from '../wire/protocol.ts';
import type { HeatmapSource } from '../wire/protocol.ts';
import type { RemoteEvent } from './remote-streams.ts';

const MAGIC = 0x41564c43; // "AVLC"
const VERSION = 1;
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string, cause?: unknown): AvlocError {
  return new AvlocError('PROTOCOL_INVALID', message, cause === undefined ? undefined : { cause });
}

export function encodeHeatmapMessage(node: string, source: HeatmapSource, withPreview: boolean): Uint8Array {
  const nodeBytes = te.encode(node);
  if (nodeBytes.length > 255) throw invalid('node id longer than 255 bytes');
  const body = assembleHeatmap(encodeHeatmapBinary(source, withPreview), { sentAtMs: 0, queueDropped: 0 });
  const out = new Uint8Array(6 + nodeBytes.length + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, false);
  dv.setUint8(4, VERSION);
  dv.setUint8(5, nodeBytes.length);
  out.set(nodeBytes, 6);
  out.set(body, 6 + nodeBytes.length);
  return out;
}

/** The sending node of a heatmap message, read without decoding the heatmap (receivers skip their own). */
export function heatmapMessageNode(bytes: Uint8Array): string {
  return envelope(bytes).node;
}

export function decodeHeatmapMessage(bytes: Uint8Array): { node: string; source: HeatmapSource } {
  const { node, bodyAt } = envelope(bytes);
  const h = decodeHeatmapBinary(bytes.subarray(bodyAt));
  const { sentAtMs: _sent, timings, counters, ...rest } = h;
  const { sendMs: _sendMs, ...stageTimings } = timings;
  const { queueDropped: _dropped, ...streamCounters } = counters;
  return { node, source: { ...rest, timings: stageTimings, counters: streamCounters } };
}

function envelope(bytes: Uint8Array): { node: string; bodyAt: number } {
  if (bytes.length < 6) throw invalid('cluster heatmap message too short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, false) !== MAGIC) throw invalid('cluster heatmap message has a bad magic');
  if (dv.getUint8(4) !== VERSION) throw invalid(`unsupported cluster heatmap envelope version ${dv.getUint8(4)}`);
  const n = dv.getUint8(5);
  if (6 + n > bytes.length) throw invalid('cluster heatmap node id runs past the end');
  let node: string;
  try {
    node = td.decode(bytes.subarray(6, 6 + n));
  } catch (err) {
    throw invalid('cluster heatmap node id is not UTF-8', err);
  }
  return { node, bodyAt: 6 + n };
}

const EventEnvelope = z.object({
  v: z.literal(1),
  node: z.string().min(1),
  claim: z.string(),
  event: z.discriminatedUnion('type', [StreamStartedMessage, StreamInfoMessage, StreamErrorMessage, StreamEndedMessage]),
});

export function encodeEventMessage(node: string, claim: string, event: StreamEvent): string {
  return JSON.stringify({ v: 1, node, claim, event });
}

export function decodeEventMessage(text: string): RemoteEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid('cluster event is not JSON', err);
  }
  const r = EventEnvelope.safeParse(raw);
  if (!r.success) throw invalid(`bad cluster event: ${r.error.issues[0]?.message ?? 'invalid'}`, r.error);
  return r.data as RemoteEvent;
}
