/**
 * Cuts a byte stream into records of exactly `size` bytes, each in its own freshly allocated buffer
 * (consumers may keep them). Holds at most one partial record, so memory is bounded by `size`.
 */
export class FixedChunker {
  readonly size: number;
  private current: Uint8Array;
  private filled = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`record size must be a positive integer, got ${size}`);
    this.size = size;
    this.current = new Uint8Array(size);
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.size - this.filled, chunk.length - off);
      this.current.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.size) {
        out.push(this.current);
        this.current = new Uint8Array(this.size);
        this.filled = 0;
      }
    }
    return out;
  }

  /** Bytes of the unfinished record, returned and cleared (e.g. the audio tail at end of stream). */
  flush(): Uint8Array {
    const rest = this.current.slice(0, this.filled);
    this.filled = 0;
    return rest;
  }
}
