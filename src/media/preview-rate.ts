/**
 * ffmpeg `select` filter keeping the first frame of each 1/fps-second slot (also offline `--fps`).
 * The 1e-6 slack keeps t = k/fps exactly in slot k despite floating point (as FrameSlots does);
 * single quotes keep the expression's comma from splitting the filter chain.
 */
export function slotSelectFilter(fps: number): string {
  return `select='isnan(prev_selected_t)+gte(floor(t*${fps}+1e-6)-floor(prev_selected_t*${fps}+1e-6),1)'`;
}

/**
 * Which decoded frames get a JPEG preview when previews are capped at `fps` per second.
 *
 * Why: encoding a 360p JPEG for every frame of a 30 fps camera costs as much CPU as decoding the
 * 720p H.264 itself (measured: 0.83 s decode vs 1.67 s decode + previews per 10 s of video), and
 * a viewer needs far fewer pictures than the model gets frames. ffmpeg drops the other frames from
 * the preview branch with `select` (slotSelectFilter, above); this class evaluates the very same
 * expression on the same timestamps (integer pts × time base, as ffmpeg's `t`), so the joiner knows
 * which frames will have a JPEG without any extra framing on the pipes.
 */
export class PreviewRate {
  private prevSelected = Number.NaN;
  private readonly fps: number;

  constructor(fps: number) {
    if (!(fps > 0 && Number.isFinite(fps))) throw new RangeError(`preview fps must be positive, got ${fps}`);
    this.fps = fps;
  }

  /** `t`: the frame's time in seconds as ffmpeg computes it (NaN when the frame has no pts). */
  select(t: number): boolean {
    const r = this.fps;
    // Same arithmetic as the expression: NaN propagates exactly as in ffmpeg's evaluator.
    const chosen = Number.isNaN(this.prevSelected) || Math.floor(t * r + 1e-6) - Math.floor(this.prevSelected * r + 1e-6) >= 1;
    if (chosen) this.prevSelected = t;
    return chosen;
  }
}
