/**
 * `avloc watch [url] [--stream id] [--json]`: the documented command-line client. Connects with
 * AvlocClient (reconnecting by itself) and prints one line per heatmap as it arrives, plus one
 * line per stream event. Node-only (it brings `ws`); the viewer uses client.ts directly.
 */
import { WebSocket } from 'ws';
import { nowMs } from '../pipeline/types.ts';
import { AvlocClient } from '../wire/client.ts';
import type { WebSocketConstructor } from '../wire/client.ts';
import type { Heatmap, StreamSelector } from '../wire/protocol.ts';

export interface WatchOptions {
  readonly url: string;
  readonly streams: StreamSelector;
  /** Print each heatmap as one JSON object per line (grid values left out) instead of text. */
  readonly json?: boolean;
  /** Where lines go (default stdout). */
  readonly out?: (line: string) => void;
  /** Stops watching; without it, watching runs until SIGINT/SIGTERM. */
  readonly signal?: AbortSignal;
  /** Stop after this many heatmaps (tests, scripts). */
  readonly limit?: number;
  readonly WebSocket?: WebSocketConstructor;
}

const f1 = (n: number): string => n.toFixed(1);

/** One human-readable line for a heatmap: what the watch command prints. */
export function formatHeatmapLine(h: Heatmap, receivedAtMs: number): string {
  const t = h.timings;
  const c = h.counters;
  const latency = receivedAtMs - h.captureAtMs;
  return (
    `${h.streamId} #${h.frame} pts=${(h.ptsMs / 1000).toFixed(3)}s ` +
    `peak=(${h.peak.u.toFixed(2)},${h.peak.v.toFixed(2)}) cell=${h.peak.x},${h.peak.y} value=${h.peak.value.toFixed(3)} ` +
    `latency=${f1(latency)}ms [decode ${f1(t.decodeMs)} wait ${f1(t.waitMs)} infer ${f1(t.inferenceMs)} send ${f1(t.sendMs)}] ` +
    `batch=${h.batchSize} skipped=${c.skipped} dropped=${c.dropped} queueDropped=${c.queueDropped}` +
    (h.hasAudio ? '' : ' no-audio')
  );
}

/** Runs until the signal aborts, the limit is reached, or the process is interrupted. */
export async function watchHeatmaps(opts: WatchOptions): Promise<void> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const client = await AvlocClient.connect(opts.url, { WebSocket: opts.WebSocket ?? (WebSocket as unknown as WebSocketConstructor) });
  client.subscribe(opts.streams, { format: 'binary', preview: false });
  let count = 0;
  const shownUrl = new URL(opts.url);
  if (shownUrl.searchParams.has('token')) shownUrl.searchParams.set('token', '…');   // a token is a credential: never print it
  const shown = shownUrl.toString();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      client.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    if (opts.signal) {
      if (opts.signal.aborted) return stop();
      opts.signal.addEventListener('abort', stop, { once: true });
    } else {
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    }
    client.on('hello', (m) => out(`# connected to ${shown} (${m.protocol}, server ${m.server.version}, model ${m.model ? `${m.model.name} ${m.model.gridH}x${m.model.gridW}` : 'none'})`));
    client.on('streams', (m) => out(`# streams: ${m.streams.map((s) => `${s.id}(${s.state})`).join(' ') || '(none)'}`));
    client.on('stream.started', (m) => out(`# ${m.id} started (${m.kind}${m.node ? ` on node ${m.node}` : ''})`));
    client.on('stream.info', (m) => out(`# ${m.id} info: audio=${m.hasAudio} video=${m.hasVideo}${m.videoCodec ? ` ${m.videoCodec}` : ''}${m.audioCodec ? ` ${m.audioCodec}` : ''}`));
    client.on('stream.ended', (m) => out(`# ${m.id} ended: ${m.reason}`));
    client.on('stream.error', (m) => out(`# ${m.id} error ${m.code}: ${m.message}`));
    client.on('error', (m) => out(`# server error ${m.code}: ${m.message}`));
    client.on('close', (m) => out(`# disconnected (code ${m.code})${m.willReconnect ? ', reconnecting' : ''}`));
    client.on('heatmap', (h) => {
      const at = nowMs();
      if (opts.json) {
        const { grid, preview: _preview, ...rest } = h;
        out(JSON.stringify({ ...rest, grid: { h: grid.h, w: grid.w }, receivedAtMs: at }));
      } else out(formatHeatmapLine(h, at));
      count++;
      if (opts.limit !== undefined && count >= opts.limit) stop();
    });
  });
}
