/**
 * `avloc publish SOURCE [URL]`: a camera stream for people who have no ffmpeg or OBS at hand.
 * SOURCE is a media file, `testsrc` (a moving test pattern with a beeping tone) or `camera`
 * (V4L2 /dev/video0 and ALSA's default microphone). It runs the ffmpeg avloc resolved, paced in
 * real time, H.264 + AAC over RTMP, and prints progress; a bad source, an unreachable server or a
 * refused stream id is one line and a non-zero exit.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import { basename, extname } from 'node:path';
import { AvlocError } from '../errors.ts';
import { resolveFfmpeg } from './ffmpeg-path.ts';
import { ffmpegCaps, missingCaps } from './ffmpeg-probe.ts';
import { LineSplitter } from './line-splitter.ts';
import { urlForFfmpeg } from './resolve-host.ts';

export interface PublishOptions {
  /** A file path, `testsrc` or `camera`. */
  readonly source: string;
  /** rtmp://HOST:PORT/live/ID (default rtmp://localhost:1935/live/<name of the source>). */
  readonly url?: string;
  /** Start the file again at its end, for ever. */
  readonly loop?: boolean;
  /** A publish token (auth on): appended as `?token=`. */
  readonly token?: string;
  /** Stop after this many seconds of media. */
  readonly seconds?: number;
  /** The service's HTTP port, for the viewer address printed (default 8080). */
  readonly httpPort?: number;
  readonly ffmpegPath?: string;
  readonly out?: (line: string) => void;
  readonly signal?: AbortSignal;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const CAMERA = { video: '/dev/video0', audio: 'default' };

/** The stream id a source publishes as by default: the file's name, or the source word. */
export function defaultStreamId(source: string): string {
  if (source === 'testsrc' || source === 'camera') return source;
  const stem = basename(source, extname(source)).replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return stem || 'stream';
}

/** The ffmpeg input arguments for a source (pure, exported for tests). */
export function sourceArgs(source: string, loop: boolean): string[] {
  if (source === 'testsrc') {
    return ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000'];
  }
  if (source === 'camera') {
    return ['-f', 'v4l2', '-framerate', '30', '-i', CAMERA.video, '-f', 'alsa', '-i', CAMERA.audio];
  }
  return ['-re', ...(loop ? ['-stream_loop', '-1'] : []), '-i', source];
}

/** Checks the source and the target; returns the URL with the token and the stream id. */
export function publishTarget(opts: Pick<PublishOptions, 'source' | 'url' | 'token'>): { url: string; id: string } {
  const { source } = opts;
  if (source === 'camera') {
    if (!existsSync(CAMERA.video)) throw new AvlocError('CONFIG_INVALID', `no camera: ${CAMERA.video} does not exist (a V4L2 camera is needed for "camera")`);
  } else if (source !== 'testsrc') {
    if (!existsSync(source)) throw new AvlocError('CONFIG_INVALID', `no such file: ${source} (SOURCE is a media file, "testsrc" or "camera")`);
    if (!statSync(source).isFile()) throw new AvlocError('CONFIG_INVALID', `${source} is not a file`);
  }
  let u: URL;
  try {
    u = new URL(opts.url ?? `rtmp://localhost:1935/live/${defaultStreamId(source)}`);
  } catch {
    throw new AvlocError('CONFIG_INVALID', `not a URL: ${opts.url} (expected rtmp://HOST:1935/live/ID)`);
  }
  const parts = u.pathname.split('/').filter(Boolean);
  const id = parts[1] ?? '';
  if (u.protocol !== 'rtmp:' || parts.length !== 2 || parts[0] !== 'live' || !ID.test(id)) {
    throw new AvlocError('CONFIG_INVALID', `expected rtmp://HOST[:PORT]/live/ID with ID of A-Z a-z 0-9 _ - (got ${opts.url})`);
  }
  if (opts.token && !u.searchParams.has('token')) u.searchParams.set('token', opts.token);
  return { url: u.toString(), id };
}

/** Resolves when TCP reaches host:port, or throws a one-line error saying it did not. */
async function reachable(url: string, timeoutMs = 3000): Promise<void> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 1935);
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => s.destroy(new Error('ETIMEDOUT')), timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new AvlocError('CLOSED', `cannot reach the RTMP server at ${host}:${port} (${err.code ?? err.message}): is the service running (npm start)?`));
    });
  });
}

/** Publishes until the source ends, the signal aborts, or the server closes the stream. */
export async function publish(opts: PublishOptions): Promise<void> {
  const out = opts.out ?? ((line: string) => process.stderr.write(`${line}\n`));
  const ffmpeg = opts.ffmpegPath ?? resolveFfmpeg();
  const { url, id } = publishTarget(opts);
  const missing = missingCaps(ffmpegCaps(ffmpeg), { encoders: ['libx264', 'aac'], protocols: ['rtmp'] });
  if (missing.length > 0) throw new AvlocError('FFMPEG_NOT_FOUND', `${ffmpeg} lacks ${missing.join(', ')}; set FFMPEG_PATH to an ffmpeg that has them`);
  const target = await urlForFfmpeg(url, ffmpeg);
  await reachable(target);
  const shownHost = new URL(url).hostname;
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1',
    ...sourceArgs(opts.source, opts.loop === true),
    ...(opts.seconds !== undefined ? ['-t', String(opts.seconds)] : []),
    '-map', '0:v:0', '-map', `${opts.source === 'testsrc' || opts.source === 'camera' ? '1' : '0'}:a:0?`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000',
    '-f', 'flv', target,
  ];
  out(`publishing ${opts.source} as "${id}" to ${url.replace(/([?&]token=)[^&]+/, '$1…')}`);
  out(`watch it: http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${opts.httpPort ?? 8080}/  (or npm run watch)`);
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const startedAt = Date.now();
  let stderr = '';
  let frames = 0;
  let lastShown = 0;
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const lines = new LineSplitter();
  child.stdout.on('data', (d: Buffer) => {
    for (const line of lines.push(d.toString())) {
      const [k, v] = line.split('=', 2);
      if (k === 'frame') frames = Number(v);
      if (k === 'progress' && Date.now() - lastShown >= 2000) {
        lastShown = Date.now();
        out(`  ${id}: ${frames} frames in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
      }
    }
  });
  const stop = (): void => {
    child.kill('SIGINT');   // ffmpeg ends the FLV stream cleanly on SIGINT
  };
  opts.signal?.addEventListener('abort', stop, { once: true });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  opts.signal?.removeEventListener('abort', stop);
  if (opts.signal?.aborted || code === 0 || code === 255) {
    out(`  ${id}: ended after ${frames} frames`);
    return;
  }
  const why = stderr.trim().split('\n').pop() ?? '';
  throw new AvlocError(
    'CLOSED',
    frames > 0 || Date.now() - startedAt > 1500
      ? `the server closed stream "${id}" after ${frames} frames (${why || `ffmpeg exit ${code}`}); a refusal (missing or wrong token, id already live, stream cap) is named in the service's log`
      : `ffmpeg could not publish "${id}": ${why || `exit ${code}`}`,
  );
}
