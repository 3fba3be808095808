import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FFMPEG = process.env.AVLOC_FFMPEG ?? '/usr/bin/ffmpeg';

/**
 * Files for Chromium's fake capture devices (--use-file-for-fake-video-capture / -audio-capture):
 * a short moving test pattern (y4m, which Chromium loops) and a tone (wav).
 */
export async function makeFakeCaptureFiles(dir: string): Promise<{ y4m: string; wav: string }> {
  const y4m = join(dir, 'camera.y4m');
  const wav = join(dir, 'microphone.wav');
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-t', '3', '-pix_fmt', 'yuv420p', y4m]);
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=48000', '-t', '3', '-ac', '1', wav]);
  return { y4m, wav };
}

export interface Publisher {
  readonly child: ChildProcess;
  /** Ends the publisher (SIGTERM, then SIGKILL) and resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Publishes a live test pattern with a tone over RTMP, in real time, like a camera would.
 * `video` is an ffmpeg lavfi source (default: testsrc2 at 320×240, 15 fps).
 */
export function startRtmpPublisher(url: string, video = 'testsrc2=size=320x240:rate=15'): Publisher {
  const child = spawn(
    FFMPEG,
    [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', video,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '64k',
      '-f', 'flv', url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000); // bounded: only the tail matters for a failure
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    child,
    stop(): Promise<void> {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(t);
        }
        if (process.env.AVLOC_TEST_DEBUG && stderr) console.error(`rtmp publisher stderr: ${stderr}`);
      })();
      return stopping;
    },
  };
}

/** Re-encodes a screenshot as a palette PNG (for the docs, where size matters more than fidelity). */
export async function shrinkPng(input: string, output: string, colors = 256): Promise<void> {
  await run(FFMPEG, [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', input,
    // Ordered dither: no contour bands in the heatmap's gradients, and it compresses well.
    '-vf', `split[a][b];[a]palettegen=max_colors=${colors}:stats_mode=single[p];[b][p]paletteuse=dither=bayer:bayer_scale=3`,
    '-frames:v', '1', output,
  ]);
}
