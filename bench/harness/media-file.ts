import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The synthetic camera: 720p30 H.264 (no B-frames, a keyframe every second, as a live encoder
 * sends) + 48 kHz stereo AAC, in FLV so publishers send it with `-c copy`. Encoding once and
 * copying keeps 16 publishers from spending both cores on x264, which would measure the encoder
 * rather than the service. The tone sweeps so the audio is not constant.
 */
const run = promisify(execFile);

export interface MediaFile {
  readonly path: string;
  readonly seconds: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

export async function ensureMediaFile(ffmpeg: string, dir: string, seconds = 10): Promise<MediaFile> {
  const width = 1280;
  const height = 720;
  const fps = 30;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `synthetic-${width}x${height}p${fps}-${seconds}s-gop${seconds}s.flv`);
  if (!existsSync(path)) {
    // Write to a temporary name first so an interrupted encode is never mistaken for a finished file.
    const tmp = `${path}.part.flv`;
    await run(ffmpeg, [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
      '-f', 'lavfi', '-i', `aevalsrc='0.4*sin(2*PI*(300+200*sin(2*PI*0.25*t))*t)':s=48000:c=stereo`,
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', String(fps * seconds), '-bf', '0',
      '-pix_fmt', 'yuv420p', '-b:v', '2500k',
      '-c:a', 'aac', '-b:a', '128k',
      '-f', 'flv', tmp,
    ], { timeout: 120_000 });
    renameSync(tmp, path);
  }
  return { path, seconds, width, height, fps };
}
