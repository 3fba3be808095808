import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';

/** Test-side ffmpeg: the same binary the service resolves, so tests exercise what users run. */
export const FFMPEG = resolveFfmpeg();
const run = promisify(execFile);

/** Runs ffmpeg to completion (e.g. to make a test clip); rejects with its stderr on failure. */
export async function ffmpeg(args: readonly string[]): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { maxBuffer: 1 << 20 });
}

export interface PublisherOptions {
  /** Publish a video track (lavfi testsrc2). Default true. */
  readonly video?: boolean;
  /** Publish an audio track (lavfi sine). Default true. */
  readonly audio?: boolean;
  readonly size?: string;
  readonly fps?: number;
  /** Stop after this many seconds (default: run until stopped). */
  readonly seconds?: number;
}

export interface Publisher {
  readonly child: ChildProcess;
  /** Resolves when the publisher has exited by itself or was stopped. */
  readonly exited: Promise<void>;
  /** SIGKILL, like a camera losing power; resolves once the process is gone. Idempotent. */
  kill(): Promise<void>;
}

/** A live RTMP publisher (like OBS or a phone): test pattern and tone, real-time pacing. */
export function publishRtmp(url: string, opts: PublisherOptions = {}): Publisher {
  const video = opts.video ?? true;
  const audio = opts.audio ?? true;
  const args = ['-hide_banner', '-loglevel', 'error', '-re'];
  const dur = opts.seconds !== undefined ? [`:duration=${opts.seconds}`] : [''];
  if (video) args.push('-f', 'lavfi', '-i', `testsrc2=size=${opts.size ?? '320x240'}:rate=${opts.fps ?? 15}${dur[0]}`);
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100${dur[0]}`);
  if (video) args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p');
  if (audio) args.push('-c:a', 'aac', '-b:a', '64k');
  args.push('-f', 'flv', url);
  const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
