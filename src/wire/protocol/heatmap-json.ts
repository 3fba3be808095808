/**
 * The JSON heatmap, for clients that want text: grid values as numbers, the preview as base64.
 * Readable and larger; it carries exactly what the binary frame carries (heatmap-binary.ts).
 */
import type { z } from 'zod';
import type { Heatmap, HeatmapJsonMessage, HeatmapSource, PerSend } from './messages.ts';
import { headerOf, sendMsOf } from './heatmap-parts.ts';
import type { EncodedHeatmap } from './heatmap-parts.ts';
import { base64Decode, base64Encode } from './base64.ts';
import { invalid } from './protocol-error.ts';

const te = new TextEncoder();

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
