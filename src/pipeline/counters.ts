import type { StreamCounters } from './types.ts';

/**
 * The per-stream StreamCounters, shared by the stages that count (av-sync counts `decoded` and its own
 * `skipped`; the scheduler counts `skipped`, `dropped`, `analyzed`) and read by publish/ for messages
 * and metrics.
 *
 * Bound: one entry per live stream. `open` creates, `delete` frees (docs/ARCHITECTURE.md, rule 5); `bump` on an
 * unknown stream is a no-op, so a batch that finishes after its stream ended cannot resurrect it.
 */
export type CounterName = keyof StreamCounters;

export class StreamCounterRegistry {
  private readonly byStream = new Map<string, StreamCounters>();

  /** The stream's counters, created at zero if this is the first time it is seen. */
  open(streamId: string): StreamCounters {
    let c = this.byStream.get(streamId);
    if (!c) {
      c = { decoded: 0, skipped: 0, dropped: 0, analyzed: 0 };
      this.byStream.set(streamId, c);
    }
    return c;
  }

  get(streamId: string): Readonly<StreamCounters> | undefined {
    return this.byStream.get(streamId);
  }

  bump(streamId: string, name: CounterName, by = 1): void {
    const c = this.byStream.get(streamId);
    if (c) c[name] += by;
  }

  delete(streamId: string): void {
    this.byStream.delete(streamId);
  }

  /** A copy of every live stream's counters (for metrics scrapes). */
  snapshot(): Map<string, StreamCounters> {
    const out = new Map<string, StreamCounters>();
    for (const [id, c] of this.byStream) out.set(id, { ...c });
    return out;
  }

  get size(): number {
    return this.byStream.size;
  }
}
