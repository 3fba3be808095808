/**
 * The hub's callbacks (taps of its local events, watchers of its clients' interest). They run
 * synchronously inside the hub's own calls, so one that throws is logged and skipped: a broken
 * listener must not stop a heatmap or a subscription on its way.
 */
import type { Logger } from '../../log.ts';

export class Listeners<T extends unknown[]> {
  private readonly fns = new Set<(...args: T) => void>();

  constructor(
    private readonly log: Logger,
    /** Logged, with the error, when one of them throws. */
    private readonly failure: string,
  ) {}

  get size(): number {
    return this.fns.size;
  }

  /** Returns an unsubscribe. */
  add(fn: (...args: T) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }

  call(...args: T): void {
    for (const fn of this.fns) {
      try {
        fn(...args);
      } catch (err) {
        this.log.error(this.failure, { error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  clear(): void {
    this.fns.clear();
  }
}
