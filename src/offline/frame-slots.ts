/**
 * The offline output's frame clock: slot k is at k / rate seconds. A frame at pts t belongs to slot
 * round(t × rate), as ffmpeg's `fps` filter rounds. Pure, so the selection is unit-testable.
 *
 *  - `select` (only with --fps N): a frame is analyzed when it is the first in a new slot, so at
 *    most N frames per second are analyzed and the choice depends only on pts (reproducible);
 *  - `repeats`: how many overlay frames an analyzed frame fills: every slot from the one after the
 *    last filled up to its own. A source slower than the rate repeats frames (shown up to one
 *    source frame early), a faster one loses frames from the video (never from the JSON track),
 *    so the overlay video is constant-rate and stays in step with the original audio.
 */
export class FrameSlots {
  readonly rate: number;
  private lastSelected = -1;
  private lastFilled = -1;

  constructor(rate: number) {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`slot rate must be positive, got ${rate}`);
    this.rate = rate;
  }

  slotOf(ptsMs: number): number {
    return Math.max(0, Math.round((ptsMs * this.rate) / 1000));
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
