/**
 * What both heatmap formats share: a *shared* part, the same for every subscriber and encoded once
 * per result, and a small *per-send* part (sentAtMs, sendMs, this client's queue drops) that is
 * only known when the message is written to one socket. An encoder returns the shared bytes plus a
 * function that renders the per-send bytes, so the hub can write `[shared, perSend]` without
 * copying the shared bytes for each client.
 */
import type { z } from 'zod';
import type { HeatmapFormat, HeatmapHeaderSchema, HeatmapSource, PerSend } from './messages.ts';

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

/** A heatmap's header fields as both formats write them, the per-send ones left out. */
export function headerOf(h: HeatmapSource): Omit<z.infer<typeof HeatmapHeaderSchema>, 'sentAtMs' | 'timings' | 'counters'> & {
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

export function sendMsOf(h: { doneAtMs: number }, p: PerSend): number {
  return Math.max(0, p.sentAtMs - h.doneAtMs);
}
