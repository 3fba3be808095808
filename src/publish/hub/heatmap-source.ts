/**
 * A pipeline result as the protocol encoders take it (src/wire/protocol.ts HeatmapSource). The
 * live hub publishes it and offline analysis writes its JSON track from it
 * (src/offline/track-writer.ts), so both say the same thing about a frame.
 */
import type { FrameResult, StreamCounters } from '../../pipeline/types.ts';
import type { HeatmapSource } from '../../wire/protocol.ts';

/** NaN/Infinity (a broken model) would make JSON invalid for every client: send 0 and keep going. */
function fin(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

export function toSource(r: FrameResult, c: StreamCounters): HeatmapSource {
  const f = r.frame;
  return {
    type: 'heatmap',
    streamId: r.streamId,
    frame: f.index,
    ptsMs: f.ptsMs,
    captureAtMs: f.captureAtMs,
    decodedAtMs: f.decodedAtMs,
    doneAtMs: r.doneAtMs,
    timings: { decodeMs: fin(r.timings.decodeMs), waitMs: fin(r.timings.waitMs), inferenceMs: fin(r.timings.inferenceMs) },
    grid: { h: r.gridH, w: r.gridW, values: r.heatmap },
    peak: { x: r.peak.x, y: r.peak.y, u: fin(r.peak.u), v: fin(r.peak.v), value: fin(r.peak.value) },
    sounding: r.sounding !== null && Number.isFinite(r.sounding) ? r.sounding : null,
    counters: { decoded: c.decoded, skipped: c.skipped, dropped: c.dropped, analyzed: c.analyzed },
    hasAudio: r.hasAudio,
    batchSize: r.batchSize,
    ...(f.jpeg ? { preview: f.jpeg } : {}),
  };
}
