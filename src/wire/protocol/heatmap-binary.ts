/**
 * The binary heatmap frame: a fixed 32-byte little-endian prefix (magic, version, flags and the
 * per-send fields at fixed offsets), the JSON header, padding to 4 bytes, the float32 grid, then
 * the preview JPEG to the end (docs/PROTOCOL.md). Compact and cheap to write per client: only the
 * prefix differs between subscribers.
 */
import { CountersSchema, HeatmapHeaderSchema, TimingsSchema } from './messages.ts';
import type { Heatmap, HeatmapSource, PerSend } from './messages.ts';
import { headerOf, sendMsOf } from './heatmap-parts.ts';
import type { EncodedHeatmap } from './heatmap-parts.ts';
import { invalid, zodIssue } from './protocol-error.ts';

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

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

function align4(n: number): number {
  return (n + 3) & ~3;
}
