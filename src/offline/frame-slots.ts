/**
 * The offline output's frame clock: slot k is at k / rate seconds. Pure, so it is unit-testable.
 *
 *  - `select` (--fps N): a frame is analyzed when it is the first at or after the start of a new
 *    slot (slot = floor(t × N)), so N frames per second of media are analyzed (a 2 s clip at --fps 5
 *    gives 10, like ffmpeg's `fps` filter) and the choice depends only on pts (reproducible);
 *  - `repeats`: how many overlay frames an analyzed frame fills: every slot after the last filled
 *    one up to its own. A source slower than the rate repeats frames (each shown up to one slot
 *    early), a faster one loses frames from the video (never from the JSON track), so the overlay
 *    video is constant-rate and stays in step with the original audio.
 * Slots are `floor` for selected frames (they are in distinct slots by construction) and `round`
 * at the source's own rate, where pts jitter around k / rate must not push a frame into slot k − 1.
 */
export type SlotRounding = 'floor' | 'round';

/** Slack for floating-point pts (e.g. 0.3 s × 10 = 2.9999999999999996 must be slot 3). */
const EPS = 1e-6;

export class FrameSlots {
  readonly rate: number;
  private readonly rounding: SlotRounding;
  private lastSelected = -1;
  private lastFilled = -1;

  constructor(rate: number, rounding: SlotRounding = 'round') {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`slot rate must be positive, got ${rate}`);
    this.rate = rate;
    this.rounding = rounding;
  }

  slotOf(ptsMs: number): number {
    const x = (ptsMs * this.rate) / 1000;
    return Math.max(0, this.rounding === 'floor' ? Math.floor(x + EPS) : Math.round(x));
  }

  /** True when this frame starts a new slot (the --fps N selection). */
  select(ptsMs: number): boolean {
    const s = this.slotOf(ptsMs);
    if (s <= this.lastSelected) return false;
    this.lastSelected = s;
    return true;
  }

  /** Overlay frames to write for an analyzed frame at `ptsMs`, in pts order (0: its slot is taken). */
  repeats(ptsMs: number): number {
    const s = this.slotOf(ptsMs);
    const n = Math.max(0, s - this.lastFilled);
    this.lastFilled = Math.max(this.lastFilled, s);
    return n;
  }
}
