/**
 * A one-item mailbox: a new value replaces the one not yet taken. The viewer keeps one per stream
 * so that a tab that paints slowly (or sits in the background) shows the newest frame instead of
 * working through a backlog.
 */
export class LatestSlot<T> {
  private value: T | undefined;
  private replacedCount = 0;

  /** Store `v`; returns the value it displaced (never taken), so its resources can be released. */
  put(v: T): T | undefined {
    const old = this.value;
    if (old !== undefined) this.replacedCount++;
    this.value = v;
    return old;
  }

  take(): T | undefined {
    const v = this.value;
    this.value = undefined;
    return v;
  }

  get pending(): boolean {
    return this.value !== undefined;
  }

  /** Values that were replaced before anyone took them. */
  get replaced(): number {
    return this.replacedCount;
  }
}
