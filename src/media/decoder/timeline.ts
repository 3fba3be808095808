/**
 * The media timeline across ffmpeg runs. Within one run, video pts come from showinfo and audio
 * sample i is at i / rate, both on ffmpeg's origin (input start time = 0). When a live source's
 * ffmpeg is restarted, the new run's timeline is shifted to start where the previous one ended
 * (max of last frame pts + one frame period and the end of the audio), and the audio gap up to
 * there is filled with silence, so pts stay monotonic and audio stays contiguous across restarts.
 */

/** Never pad more than this much silence at a restart (a bogus end time must not allocate GBs). */
const MAX_PAD_MS = 2000;

export class Timeline {
  /** Where the current run's ffmpeg time 0 lies on the timeline. */
  runOffsetMs = 0;
  lastPtsMs = -Infinity;
  framePeriodMs = 40;
  /** Samples emitted on the continuous audio timeline (sample i is at i / rate ms from 0). */
  audioSamplesOut = 0;

  constructor(private readonly sampleRate: number) {}

  /**
   * Continues the timeline where the previous run ended (nothing to do before the first run).
   * `pad(ptsMs, samples)` is asked to emit the silence that fills the audio gap, when the run
   * decodes audio; past MAX_PAD_MS the gap is left a hole instead.
   */
  startRun(withAudio: boolean, pad: (ptsMs: number, samples: number) => void): void {
    if (!(this.lastPtsMs > -Infinity || this.audioSamplesOut > 0)) return;
    const sampleRate = this.sampleRate;
    const audioEndMs = (this.audioSamplesOut * 1000) / sampleRate;
    const videoEndMs = this.lastPtsMs + this.framePeriodMs;
    const startSample = Math.ceil((Math.max(audioEndMs, videoEndMs) * sampleRate) / 1000);
    this.runOffsetMs = (startSample * 1000) / sampleRate;
    if (withAudio) this.padSilence(startSample, pad);
    else this.audioSamplesOut = startSample;
  }

  /**
   * Places a frame of this run (`runPtsMs` on ffmpeg's origin, null when showinfo gave none) on the
   * timeline, strictly after the previous frame; `fixed` says it had to be nudged forward.
   * `framesBefore`: frames already placed in this run (the period is learned from two of one run).
   */
  placeFrame(runPtsMs: number | null, framesBefore: number): { readonly ptsMs: number; readonly fixed: boolean } {
    let pts = runPtsMs === null ? this.lastPtsMs + this.framePeriodMs : this.runOffsetMs + runPtsMs;
    let fixed = false;
    if (!(pts > this.lastPtsMs)) {
      fixed = true;
      pts = this.lastPtsMs + 0.001;
    }
    if (this.lastPtsMs > -Infinity && framesBefore > 0) {
      const d = pts - this.lastPtsMs;
      if (d > 0 && d < 1000) this.framePeriodMs = d;
    }
    this.lastPtsMs = pts;
    return { ptsMs: pts, fixed };
  }

  private padSilence(untilSample: number, pad: (ptsMs: number, samples: number) => void): void {
    const gap = untilSample - this.audioSamplesOut;
    const max = Math.round((MAX_PAD_MS * this.sampleRate) / 1000);
    if (gap <= 0) return;
    if (gap > max) {
      this.audioSamplesOut = untilSample; // leave a hole rather than allocate a huge buffer
      return;
    }
    pad((this.audioSamplesOut * 1000) / this.sampleRate, gap);
    this.audioSamplesOut = untilSample;
  }
}
