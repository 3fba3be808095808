import { gateFilter } from './analysis-gate.ts';
import { slotSelectFilter } from './preview-rate.ts';

/**
 * The ffmpeg command line of one decoder run (pure, so the graph can be unit-tested and read in
 * one place). Outputs, each on its own pipe so none needs framing:
 *   fd 3  rgb24 frames at the model size, `showinfo` right before it prints each frame's pts
 *   fd 4  f32le mono audio at the model rate, `aresample=async=1:first_pts=0` fills gaps and a late
 *         start with silence, so sample i is at i / rate on the same origin as the video pts
 *         (ffmpeg shifts all input timestamps by the input's start time, so both start near 0)
 *   fd 5  JPEG previews of the same frames (split before scaling, so jpeg k is rgb frame k),
 *         at the preview height or the source's, whichever is smaller, aspect kept; with a
 *         preview rate cap only the frames PreviewRate selects have one
 *   stdin  (live) commands that change the analysis gate's rate (analysis-gate.ts)
 * `-vsync passthrough` keeps ffmpeg from duplicating or dropping frames to fake a constant rate
 * (deprecated in 5.x in favour of -fps_mode, which 4.x lacks; both accept -vsync).
 */
export interface DecoderArgsOptions {
  /** Source.ffmpegInput: input options ending with `-i <address>`. */
  readonly input: readonly string[];
  readonly live: boolean;
  readonly width: number;
  readonly height: number;
  readonly sampleRate: number;
  readonly withAudio: boolean;
  /** Preview JPEG height (width keeps the aspect, rounded to even); null for no previews. */
  readonly previewHeight: number | null;
  /** mjpeg -q:v, 2 (best) .. 31. */
  readonly previewQuality: number;
  /**
   * Offline `--fps N`: keep only the first frame at or after the start of each 1/N s slot
   * (floor(t × N) grows), before scaling and previews, so unselected frames cost only their decode.
   */
  readonly selectFps?: number;
  /** Live previews at most this many per second (see PreviewRate); omit for one per frame. */
  readonly previewFps?: number;
  /**
   * Live: put the analysis gate (analysis-gate.ts) at the head of the video chain, starting at this
   * rate (null: every frame passes), and leave stdin open for the commands that change it.
   */
  readonly gateFps?: number | null;
}

export const FD_RGB = 3;
export const FD_AUDIO = 4;
export const FD_JPEG = 5;

export function buildDecoderArgs(o: DecoderArgsOptions): string[] {
  const gated = o.gateFps !== undefined;
  // The gate's commands come in on stdin; otherwise ffmpeg must not read it.
  const args = ['-hide_banner', ...(gated ? [] : ['-nostdin']), '-nostats', '-loglevel', 'level+info'];
  if (o.live) {
    // A short probe that still sees both streams of a live FLV/RTP input (their first audio and
    // video packets arrive within a few hundred ms). Deliberately no `-fflags nobuffer`: it throws
    // away the packets read while probing, so the decoder waits for the *next* keyframe (measured:
    // first frame at pts 2.0 s instead of 0 with a 1 s GOP) and latency gets worse, not better.
    // No `-flags low_delay` either: it makes the H.264 decoder assume no B-frames, which OBS-style
    // streams have, and buys nothing for streams without them.
    args.push('-analyzeduration', '1000000', '-probesize', '1000000');
    // One decoding thread per stream: ffmpeg's default frame threading holds back one frame per
    // extra thread (2 frames, 67 ms at 30 fps, on a 2-core machine) and adds thread overhead
    // (measured here on 720p30 H.264: 1.85 -> 1.72 s CPU per 10 s); streams already run in
    // parallel as separate processes. Offline analysis keeps ffmpeg's default for throughput.
    args.push('-threads', '1');
  }
  args.push(...o.input);
  const graph: string[] = [];
  const preview = o.previewHeight !== null;
  // Offline --fps and the live preview cap select frames the same way: the first of each slot.
  const select =
    (o.selectFps !== undefined && o.selectFps > 0 ? `${slotSelectFilter(o.selectFps)},` : '') +
    (gated ? `${gateFilter(o.gateFps ?? null)},` : '');
  if (preview) {
    graph.push(`[0:v:0]${select}split=2[vm][vp]`);
    graph.push(`[vm]scale=${o.width}:${o.height},format=rgb24,showinfo[vout]`);
    // Never upscale a preview: a 240p camera gets a 240p preview, not a blurrier, bigger one.
    const cap = o.previewFps !== undefined && o.previewFps > 0 ? `${slotSelectFilter(o.previewFps)},` : '';
    graph.push(`[vp]${cap}scale=-2:'min(${o.previewHeight},ih)'[pout]`);
  } else {
    graph.push(`[0:v:0]${select}scale=${o.width}:${o.height},format=rgb24,showinfo[vout]`);
  }
  if (o.withAudio) {
    graph.push(`[0:a:0]aresample=${o.sampleRate}:async=1:first_pts=0,aformat=sample_fmts=flt:channel_layouts=mono[aout]`);
  }
  args.push('-filter_complex', graph.join(';'), '-vsync', 'passthrough');
  args.push('-map', '[vout]', '-f', 'rawvideo', `pipe:${FD_RGB}`);
  if (o.withAudio) {
    args.push('-map', '[aout]', '-f', 'f32le', '-c:a', 'pcm_f32le', '-ac', '1', '-ar', String(o.sampleRate), `pipe:${FD_AUDIO}`);
  }
  if (preview) {
    // One encoding thread: mjpeg's default frame threading hands each JPEG out a frame late, so a
    // frame waiting for its preview is released together with the next one (measured: pairs of
    // frames 0.1 ms apart, every other one then skipped as stale by the latest-only scheduler).
    args.push('-map', '[pout]', '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', String(o.previewQuality), '-threads', '1', `pipe:${FD_JPEG}`);
  }
  return args;
}
