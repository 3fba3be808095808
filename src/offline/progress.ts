/**
 * Progress of an offline analysis on stderr: a bar with ETA redrawn in place when stderr is a
 * terminal, otherwise a plain line every `everyMs` (logs and CI keep one line per step). ETA is
 * media time left at the media-time speed so far; without a known duration only speed is shown.
 */
export interface ProgressOptions {
  readonly durationMs: number | null;
  readonly out?: NodeJS.WriteStream;
  /** Plain-line interval when not a TTY (default 5 s); TTY redraws at most every 200 ms. */
  readonly everyMs?: number;
  readonly label?: string;
  readonly clock?: () => number;
}

export function formatClock(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export class ProgressReporter {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly everyMs: number;
  private readonly clock: () => number;
  private readonly startMs: number;
  private lastDrawMs = -Infinity;
  private drawn = false;

  constructor(private readonly opts: ProgressOptions) {
    this.out = opts.out ?? process.stderr;
    this.tty = this.out.isTTY === true;
    this.clock = opts.clock ?? (() => performance.now());
    this.everyMs = this.tty ? 200 : (opts.everyMs ?? 5000);
    this.startMs = this.clock();
  }

  /** The text of one report (pure given the clock; exported through the class for tests). */
  line(mediaMs: number, frames: number): string {
    const elapsed = this.clock() - this.startMs;
    const fps = elapsed > 0 ? (frames * 1000) / elapsed : 0;
    const speed = elapsed > 0 ? mediaMs / elapsed : 0;
    const d = this.opts.durationMs;
    const head = this.opts.label ? `${this.opts.label} ` : '';
    const stats = `${frames} frames, ${fps.toFixed(1)} fps, ${speed.toFixed(2)}x`;
    if (d === null || d <= 0) return `${head}${formatClock(mediaMs)} analyzed, ${stats}`;
    const frac = Math.min(1, Math.max(0, mediaMs / d));
    const eta = speed > 0 ? (d - mediaMs) / speed : Infinity;
    const width = 24;
    const full = Math.round(frac * width);
    const bar = this.tty ? `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ` : '';
    return `${head}${bar}${(frac * 100).toFixed(0).padStart(3)}% ${formatClock(mediaMs)}/${formatClock(d)}, ${stats}, ETA ${formatClock(eta)}`;
  }

  update(mediaMs: number, frames: number): void {
    const now = this.clock();
    if (now - this.lastDrawMs < this.everyMs) return;
    this.lastDrawMs = now;
    this.draw(this.line(mediaMs, frames));
  }

  /** Final report (always printed), ending the in-place line. Done is 100%, whatever the last pts. */
  finish(mediaMs: number, frames: number): void {
    this.draw(this.line(Math.max(mediaMs, this.opts.durationMs ?? 0), frames));
    if (this.tty) this.out.write('\n');
    this.drawn = false;
  }

  /** Ends an in-place line before something else is printed (an error). */
  interrupt(): void {
    if (this.tty && this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private draw(text: string): void {
    if (this.tty) {
      this.out.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }
}
