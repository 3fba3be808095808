/**
 * Splits a byte stream into text lines (\n, \r\n or a lone \r, which ffmpeg uses for progress).
 * A line longer than `maxLine` is cut, so one runaway line cannot grow memory without bound.
 */
export class LineSplitter {
  private partial = '';
  private readonly maxLine: number;

  constructor(maxLine = 4096) {
    this.maxLine = maxLine;
  }

  push(chunk: Buffer | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const parts = text.split(/\r\n|\n|\r/);
    this.partial = parts.pop() ?? '';
    if (this.partial.length > this.maxLine) {
      parts.push(this.partial.slice(0, this.maxLine));
      this.partial = '';
    }
    return parts.map((l) => (l.length > this.maxLine ? l.slice(0, this.maxLine) : l));
  }

  /** The unterminated last line, if any (call at end of stream). */
  flush(): string | null {
    const rest = this.partial;
    this.partial = '';
    return rest.length > 0 ? rest : null;
  }
}
