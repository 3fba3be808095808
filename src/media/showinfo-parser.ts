/**
 * Parses ffmpeg `showinfo` filter lines from stderr. The decoder puts one showinfo right before the
 * rgb24 output, so its n-th frame line is the presentation time of the n-th rgb frame on the pipe.
 * Timestamps are computed from the integer pts and the filter's time base: `pts_time` is printed
 * with only 6 significant digits, which loses milliseconds after ~17 minutes of a live stream.
 */
export type ShowinfoEvent =
  | { readonly kind: 'timebase'; readonly num: number; readonly den: number }
  | { readonly kind: 'frame'; readonly n: number; readonly pts: number | null; readonly ptsTime: number | null };

const TIMEBASE = /config in time_base:\s*(\d+)\/(\d+)/;
const FRAME = /\bn:\s*(\d+)\s+pts:\s*(\S+)\s+pts_time:\s*(\S+)/;

/** True for lines written by a showinfo filter instance (not ashowinfo). */
export function isShowinfoLine(line: string): boolean {
  return line.includes('Parsed_showinfo_');
}

export function parseShowinfoLine(line: string): ShowinfoEvent | null {
  if (!isShowinfoLine(line)) return null;
  const tb = TIMEBASE.exec(line);
  if (tb) {
    const num = Number(tb[1]);
    const den = Number(tb[2]);
    return num > 0 && den > 0 ? { kind: 'timebase', num, den } : null;
  }
  const f = FRAME.exec(line);
  if (!f) return null;
  const pts = /^-?\d+$/.test(f[2] ?? '') ? Number(f[2]) : null; // "NOPTS" when unknown
  const t = Number(f[3]);
  return { kind: 'frame', n: Number(f[1]), pts, ptsTime: Number.isFinite(t) ? t : null };
}

/** Turns showinfo events into per-frame milliseconds (null when ffmpeg knew no pts for the frame). */
export class ShowinfoClock {
  private num = 0;
  private den = 0;

  /**
   * Returns the frame's pts in ms for frame lines, undefined for other lines; `seconds` is the
   * time as ffmpeg's filters see it (pts × av_q2d(time base), NaN when unknown).
   */
  push(ev: ShowinfoEvent): { n: number; ms: number | null; seconds: number } | undefined {
    if (ev.kind === 'timebase') {
      this.num = ev.num;
      this.den = ev.den;
      return undefined;
    }
    if (ev.pts !== null && this.den > 0) return { n: ev.n, ms: (ev.pts * this.num * 1000) / this.den, seconds: ev.pts * (this.num / this.den) };
    return { n: ev.n, ms: ev.ptsTime === null ? null : ev.ptsTime * 1000, seconds: ev.ptsTime ?? Number.NaN };
  }
}
