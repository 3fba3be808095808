import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { AvlocError } from '../errors.ts';
import type { FrameResult, StreamCounters } from '../pipeline/types.ts';
import { toSource } from '../publish/hub/heatmap-source.ts';
import { assembleHeatmap, encodeHeatmapJson } from '../wire/protocol.ts';

/**
 * The JSON Lines track: one line per analyzed frame, each exactly a WebSocket JSON heatmap message
 * (wire/protocol.ts `HeatmapJsonMessage`), written by the same encoder the live service uses.
 * Offline there is no socket: `sentAtMs` is the time the line was written, `sendMs` the time from
 * the result to that line, `queueDropped` 0. Writes wait for the file stream to drain (bounded).
 */
export class TrackWriter {
  private readonly out: WriteStream;
  private failure: Error | null = null;
  lines = 0;

  constructor(path: string) {
    this.out = createWriteStream(path, { flags: 'wx' });
    this.out.on('error', (err) => (this.failure ??= err));
  }

  async write(result: FrameResult, counters: StreamCounters, sentAtMs: number): Promise<void> {
    this.check();
    const enc = encodeHeatmapJson(toSource(result, counters), false);
    const bytes = assembleHeatmap(enc, { sentAtMs, queueDropped: 0 });
    this.out.write(bytes);
    const ok = this.out.write('\n');
    this.lines++;
    if (!ok) await once(this.out, 'drain');
    this.check();
  }

  /** Flushes and closes the file; rejects when any write failed. */
  async close(): Promise<void> {
    if (!this.out.closed) await new Promise<void>((resolve) => this.out.end(() => resolve()));
    this.check();
  }

  /** Closes without caring about errors (failure path). */
  destroy(): void {
    this.out.destroy();
  }

  private check(): void {
    if (this.failure) throw new AvlocError('INTERNAL', `cannot write the JSON track: ${this.failure.message}`, { cause: this.failure });
  }
}
