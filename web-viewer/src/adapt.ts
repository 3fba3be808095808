import type { Heatmap } from '../../src/wire/protocol.ts';
import type { ViewerFrame } from './frame.ts';

/** The typed client's heatmap → what the tiles draw. The one place that knows both shapes. */
export function toViewerFrame(h: Heatmap, receivedAtMs: number): ViewerFrame {
  return {
    streamId: h.streamId,
    frame: h.frame,
    ptsMs: h.ptsMs,
    captureAtMs: h.captureAtMs,
    sentAtMs: h.sentAtMs,
    receivedAtMs,
    timings: h.timings,
    grid: h.grid,
    peak: h.peak,
    sounding: h.sounding,
    counters: h.counters,
    hasAudio: h.hasAudio,
    preview: h.preview,
  };
}
