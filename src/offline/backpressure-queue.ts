import { AvlocError } from '../errors.ts';

/**
 * The queue between a producer that can be paused (the decoder) and a consumer that takes batches
 * in order (offline inference). Offline nothing may be skipped, so instead of a latest-only slot
 * this queue tells the producer to pause at `highWater` items and to resume at `lowWater`.
 *
 * Bound: highWater plus what the producer still emits after being paused (for the decoder: the
 * frames in one pipe read, and the frames av-sync holds for their audio — both fixed, small).
 */
export interface BackpressureQueueOptions {
  readonly highWater: number;
  readonly lowWater: number;
  readonly pause: () => void;
  readonly resume: () => void;
}

export class BackpressureQueue<T> {
  private readonly items: T[] = [];
  private paused = false;
  private ended = false;
  private error: unknown = null;
  private wake: (() => void) | null = null;
  /** Largest length seen (to check the bound in tests and reports). */
  maxLength = 0;

  constructor(private readonly opts: BackpressureQueueOptions) {
    if (!(opts.lowWater >= 0 && opts.highWater > opts.lowWater)) {
      throw new AvlocError('INTERNAL', `backpressure queue: need 0 ≤ lowWater < highWater, got ${opts.lowWater}, ${opts.highWater}`);
    }
  }

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    if (this.items.length > this.maxLength) this.maxLength = this.items.length;
    if (!this.paused && this.items.length >= this.opts.highWater) {
      this.paused = true;
      this.opts.pause();
    }
    this.notify();
  }

  /** No more items will come; `take` returns what is left, then []. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The producer failed: the next `take` rejects with `err` (items still queued are abandoned). */
  fail(err: unknown): void {
    this.error ??= err;
    this.ended = true;
    this.notify();
  }

  /** Up to `max` items in order; waits while empty; [] once ended and drained. */
  async take(max: number): Promise<T[]> {
    while (this.items.length === 0 && !this.ended && this.error === null) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.error !== null) throw this.error;
    const out = this.items.splice(0, max);
    if (this.paused && this.items.length <= this.opts.lowWater) {
      this.paused = false;
      this.opts.resume();
    }
    return out;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
