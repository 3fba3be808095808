/**
 * Events per second over a sliding window, kept in a fixed-size ring so a fast stream cannot grow it.
 */
export class RateMeter {
  private readonly times: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    private readonly windowMs = 2000,
    capacity = 256,
  ) {
    this.times = new Float64Array(capacity);
  }

  tick(atMs: number): void {
    this.times[this.head] = atMs;
    this.head = (this.head + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
  }

  /** Rate over the events of the last `windowMs` before `nowMs` (0 with fewer than two). */
  rate(nowMs: number): number {
    const cap = this.times.length;
    let n = 0;
    let oldest = nowMs;
    for (let i = 1; i <= this.count; i++) {
      const t = this.times[(this.head - i + cap) % cap] ?? 0;
      if (nowMs - t > this.windowMs) break;
      n++;
      oldest = t;
    }
    if (n < 2) return 0;
    // n events span n-1 intervals; measure from the oldest event in the window to now.
    return (n - 1) / Math.max((nowMs - oldest) / 1000, 1e-3);
  }
}
