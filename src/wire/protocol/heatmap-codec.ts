/**
 * Heatmaps whichever the format: the encoder a subscription's format asks for, and the joining of
 * an encoded heatmap's parts into one message where they cannot go out as two fragments.
 */
import type { HeatmapFormat, HeatmapSource, PerSend } from './messages.ts';
import type { EncodedHeatmap } from './heatmap-parts.ts';
import { encodeHeatmapBinary } from './heatmap-binary.ts';
import { encodeHeatmapJson } from './heatmap-json.ts';

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
