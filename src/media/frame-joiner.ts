/**
 * Pairs the three per-frame streams of one decoder run by frame number: the pts from stderr
 * (showinfo), the rgb bytes from fd 3 and, when previews are on, the JPEG from fd 5. They arrive
 * on different pipes in any order. With a preview rate cap, only some frames have a JPEG: the
 * caller says which when it pushes the pts (see PreviewRate). Each queue is bounded: when one
 * side runs ahead by more than `maxPending` frames (a stuck pipe), the oldest entry is dropped and
 * counted.
 */
export interface JoinedFrame {
  readonly n: number;
  /** null when showinfo gave no pts for this frame. */
  readonly ptsMs: number | null;
  readonly rgb: Uint8Array;
  readonly jpeg?: Uint8Array;
}

export class FrameJoiner {
  /** Entries dropped because a queue overflowed. */
  dropped = 0;
  private readonly pts: Array<{ readonly ms: number | null; readonly jpeg: boolean }> = [];
  private readonly rgb: Uint8Array[] = [];
  private readonly jpeg: Uint8Array[] = [];
  private n = 0;
  private readonly withJpeg: boolean;
  private readonly maxPending: number;

  constructor(withJpeg: boolean, maxPending = 30) {
    this.withJpeg = withJpeg;
    this.maxPending = maxPending;
  }

  /** `withJpeg` false: this frame gets no preview (the preview rate cap skipped it). */
  pushPts(ms: number | null, withJpeg = true): JoinedFrame[] {
    this.bounded(this.pts).push({ ms, jpeg: this.withJpeg && withJpeg });
    return this.drain();
  }

  pushRgb(buf: Uint8Array): JoinedFrame[] {
    this.bounded(this.rgb).push(buf);
    return this.drain();
  }

  pushJpeg(buf: Uint8Array): JoinedFrame[] {
    if (!this.withJpeg) return [];
    this.bounded(this.jpeg).push(buf);
    return this.drain();
  }

  /**
   * At end of run: frames whose rgb arrived but whose JPEG never will (ffmpeg died between the
   * outputs) are still worth emitting, without a preview.
   */
  flush(): JoinedFrame[] {
    const out: JoinedFrame[] = [];
    while (this.pts.length > 0 && this.rgb.length > 0) {
      const p = this.pts.shift() as { ms: number | null; jpeg: boolean };
      const jpeg = p.jpeg ? this.jpeg.shift() : undefined;
      out.push({ n: this.n++, ptsMs: p.ms, rgb: this.rgb.shift() as Uint8Array, ...(jpeg ? { jpeg } : {}) });
    }
    this.pts.length = 0;
    this.rgb.length = 0;
    this.jpeg.length = 0;
    return out;
  }

  private bounded<T>(q: T[]): T[] {
    if (q.length >= this.maxPending) {
      q.shift();
      this.dropped++;
    }
    return q;
  }

  private drain(): JoinedFrame[] {
    const out: JoinedFrame[] = [];
    for (let p = this.pts[0]; p && this.rgb.length > 0 && (!p.jpeg || this.jpeg.length > 0); p = this.pts[0]) {
      this.pts.shift();
      const rgb = this.rgb.shift() as Uint8Array;
      const frame: JoinedFrame = p.jpeg ? { n: this.n, ptsMs: p.ms, rgb, jpeg: this.jpeg.shift() as Uint8Array } : { n: this.n, ptsMs: p.ms, rgb };
      this.n++;
      out.push(frame);
    }
    return out;
  }
}
