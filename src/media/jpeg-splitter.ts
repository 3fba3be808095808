/**
 * Splits a concatenated JPEG byte stream (ffmpeg `-f image2pipe -c:v mjpeg`) into single images.
 * It walks the marker segments (so an FFD9 inside an APPn payload does not end an image) and, after
 * SOS, the entropy-coded data, where 0xFF is only followed by 0x00 stuffing, RSTn or a real marker.
 * Bounded: an image larger than `maxBytes` is discarded and counted, and the splitter resyncs on
 * the next SOI.
 */
export class JpegSplitter {
  /** Images thrown away (oversized or corrupt). */
  dropped = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Scan position inside buf of the current image (we never rescan consumed bytes). */
  private pos = 0;
  private inImage = false;
  private inScan = false;
  private readonly maxBytes: number;

  constructor(maxBytes = 8 * 1024 * 1024) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const img = this.next();
      if (img === null) break;
      out.push(img);
    }
    if (this.buf.length > this.maxBytes) {
      this.dropped++;
      this.reset();
    }
    return out;
  }

  private reset(): void {
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.inImage = false;
    this.inScan = false;
  }

  private next(): Buffer | null {
    const b = this.buf;
    if (!this.inImage) {
      const soi = b.indexOf(Buffer.from([0xff, 0xd8]));
      if (soi < 0) {
        // Keep a trailing 0xFF: it may be the first half of the next SOI.
        this.buf = b.length > 0 && b[b.length - 1] === 0xff ? b.subarray(b.length - 1) : Buffer.alloc(0);
        return null;
      }
      if (soi > 0) this.dropped++; // garbage before an image
      this.buf = b.subarray(soi);
      this.pos = 2;
      this.inImage = true;
      this.inScan = false;
      return this.next();
    }
    while (this.pos + 1 < b.length) {
      if (this.inScan) {
        const ff = b.indexOf(0xff, this.pos);
        if (ff < 0 || ff + 1 >= b.length) {
          this.pos = ff < 0 ? b.length : ff;
          return null;
        }
        const m = b[ff + 1] ?? 0;
        if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) {
          this.pos = m === 0xff ? ff + 1 : ff + 2;
          continue;
        }
        this.inScan = false;
        this.pos = ff;
        continue;
      }
      if (b[this.pos] !== 0xff) {
        // Corrupt segment structure: drop this image and resync on the next SOI.
        this.dropped++;
        this.buf = b.subarray(this.pos);
        this.inImage = false;
        return this.next();
      }
      const marker = b[this.pos + 1] ?? 0;
      if (marker === 0xff) {
        this.pos += 1; // fill byte
        continue;
      }
      if (marker === 0xd9) {
        const end = this.pos + 2;
        const img = end <= this.maxBytes ? Buffer.from(b.subarray(0, end)) : null;
        this.buf = b.subarray(end);
        this.inImage = false;
        this.pos = 0;
        if (img === null) {
          this.dropped++;
          return this.next();
        }
        return img;
      }
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        this.pos += 2; // markers without a length
        continue;
      }
      if (this.pos + 4 > b.length) return null;
      const len = b.readUInt16BE(this.pos + 2);
      if (this.pos + 2 + len > b.length) return null;
      this.pos += 2 + len;
      if (marker === 0xda) this.inScan = true;
    }
    return null;
  }
}
