import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { AvlocError } from '../errors.ts';

/**
 * The overlay MP4 writer: a second ffmpeg child that gets, per output frame, the decoder's JPEG
 * preview of the analyzed frame (stdin, image2pipe) and its heatmap as a grid-sized RGBA image
 * (fd 3, rawvideo). ffmpeg upsamples the heatmap to the frame (scale2ref, bicubic), alpha-blends it
 * (overlay) and encodes H.264; the audio is the input's own, mapped from a second read of it.
 *
 * Why this shape: the frame and its heatmap travel together from the same decoded frame, so they
 * cannot drift apart (no second decoder guessing which frame is which), the blend is ffmpeg's, and
 * TS only paints h×w pixels per frame. Both pipes carry frames at a constant `rate`; FrameSlots
 * decides how many times each analyzed frame is written, so the video stays in step with the audio.
 * Writes wait for the pipes to drain (bounded memory); ffmpeg reads its inputs in threads, so
 * alternating between the two pipes cannot deadlock.
 */
export interface OverlayEncoderOptions {
  readonly ffmpegPath: string;
  /** Where to write (a temporary name; the caller renames it). Always MP4. */
  readonly outPath: string;
  /** Source.ffmpegInput of the analyzed input: its audio is mapped into the output. */
  readonly audioInput: readonly string[] | null;
  /** Output frame rate (frames per second). */
  readonly rate: number;
  readonly gridW: number;
  readonly gridH: number;
  /** x264 preset (default superfast: x264 is the largest cost of the overlay) and CRF (default 23). */
  readonly preset?: string;
  readonly crf?: number;
}

export function buildEncoderArgs(o: OverlayEncoderOptions): string[] {
  const rate = String(Number(o.rate.toFixed(6)));
  const args = ['-hide_banner', '-loglevel', 'error', '-nostats'];
  args.push('-thread_queue_size', '64', '-f', 'image2pipe', '-c:v', 'mjpeg', '-framerate', rate, '-i', 'pipe:0');
  args.push('-thread_queue_size', '64', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${o.gridW}x${o.gridH}`, '-framerate', rate, '-i', 'pipe:3');
  if (o.audioInput) args.push(...o.audioInput);
  args.push(
    '-filter_complex',
    // Planar YUVA before scaling (a 14×14 conversion instead of a full-frame one) and a YUV blend:
    // measured ~3× faster than scaling and blending packed RGBA at 720p, same picture.
    '[1:v]format=yuva420p[hm0];[hm0][0:v]scale2ref=flags=bicubic[hm][base];[base][hm]overlay=format=yuv420,format=yuv420p[v]',
    '-map', '[v]',
  );
  if (o.audioInput) args.push('-map', '2:a:0', '-c:a', 'aac', '-b:a', '128k');
  args.push('-c:v', 'libx264', '-preset', o.preset ?? 'superfast', '-crf', String(o.crf ?? 23), '-r', rate);
  args.push('-movflags', '+faststart', '-f', 'mp4', o.outPath);
  return args;
}

const STDERR_KEEP = 20;

export class OverlayEncoder {
  private readonly child: ChildProcess;
  private readonly jpegIn: Writable;
  private readonly heatIn: Writable;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly stderr: string[] = [];
  private pipeError: Error | null = null;
  private done = false;
  frames = 0;

  constructor(opts: OverlayEncoderOptions) {
    this.child = spawn(opts.ffmpegPath, buildEncoderArgs(opts), { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    this.jpegIn = this.child.stdin as Writable;
    this.heatIn = this.child.stdio[3] as Writable;
    for (const s of [this.jpegIn, this.heatIn]) s.on('error', (err: Error) => (this.pipeError ??= err));
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (t: string) => {
      for (const line of t.split('\n')) if (line.trim()) this.stderr.push(line.trim());
      this.stderr.splice(0, Math.max(0, this.stderr.length - STDERR_KEEP));
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => (this.pipeError ??= err));
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Writes one output frame `times` times (see FrameSlots.repeats). */
  async write(jpeg: Uint8Array, heatmapRgba: Uint8Array, times = 1): Promise<void> {
    for (let i = 0; i < times; i++) {
      this.check();
      const a = this.jpegIn.write(jpeg);
      const b = this.heatIn.write(heatmapRgba);
      this.frames++;
      if (!a) await this.drain(this.jpegIn);
      if (!b) await this.drain(this.heatIn);
    }
  }

  /** Ends both inputs and waits for ffmpeg to finish the file; rejects when it failed. */
  async finish(): Promise<void> {
    this.done = true;
    this.jpegIn.end();
    this.heatIn.end();
    const { code, signal } = await this.exited;
    if (code !== 0) {
      throw new AvlocError('FFMPEG_EXITED', `overlay encoder failed (code ${code}, signal ${signal}): ${this.stderr.slice(-6).join(' | ') || this.pipeError?.message || 'no message'}`);
    }
  }

  /** Kills ffmpeg (failure path; the caller deletes the partial file). Idempotent. */
  async abort(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.jpegIn.destroy();
    this.heatIn.destroy();
    await this.exited;
  }

  private async drain(s: Writable): Promise<void> {
    // Resolve on 'drain', or when ffmpeg exits (no drain will come; check() reports it).
    await Promise.race([once(s, 'drain'), this.exited]);
  }

  private check(): void {
    if (this.done) throw new AvlocError('INTERNAL', 'overlay encoder already finished');
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.pipeError) {
      throw new AvlocError('FFMPEG_EXITED', `overlay encoder stopped early: ${this.stderr.slice(-6).join(' | ') || this.pipeError?.message || 'no message'}`);
    }
  }
}
