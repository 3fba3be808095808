/**
 * What an ffmpeg binary can do, asked once per binary: its version, whether it is a static build,
 * and the protocols, decoders and encoders it lists. The service needs a few of them (REQUIRED);
 * a binary that lacks one is not used (ffmpeg-path.ts), and `avloc publish` checks its encoders.
 */
import { execFileSync } from 'node:child_process';
import { AvlocError } from '../errors.ts';

export interface FfmpegInfo {
  readonly path: string;
  /** e.g. "5.1.6-0+deb12u1" or "N-47683-g0e8eb07980-static". */
  readonly version: string;
  /** Major version when the version string has one (git builds do not). */
  readonly major: number | null;
  /** The first line of `ffmpeg -version`. */
  readonly banner: string;
  /**
   * A statically linked glibc build cannot use the system's name service: given a host name it
   * fails (the 2018 build on npm crashes with SIGSEGV). URLs for it carry addresses (resolve-host.ts).
   */
  readonly isStatic: boolean;
}

export interface FfmpegCaps {
  readonly protocols: ReadonlySet<string>;
  readonly decoders: ReadonlySet<string>;
  readonly encoders: ReadonlySet<string>;
}

/** What the live service and `analyze` run: RTMP and WHIP (RTP over UDP, SDP file) in, raw frames, PCM and JPEG out. */
export const REQUIRED: { readonly [K in keyof FfmpegCaps]: readonly string[] } = {
  protocols: ['rtmp', 'rtp', 'udp', 'file', 'pipe'],
  decoders: ['h264', 'aac', 'vp8', 'opus'],
  encoders: ['rawvideo', 'pcm_f32le', 'mjpeg'],
};

/** Parses the first lines of `ffmpeg -version` (pure; exported for tests). */
export function parseFfmpegVersion(path: string, output: string): FfmpegInfo {
  const banner = output.split('\n', 1)[0]?.trim() ?? '';
  const m = /ffmpeg version (\S+)/.exec(banner);
  const version = m?.[1] ?? 'unknown';
  const major = /^n?(\d+)\./.exec(version);
  const configuration = /^configuration:(.*)$/m.exec(output)?.[1] ?? '';
  const isStatic = /static/i.test(version) || (/--enable-static\b/.test(configuration) && !/--enable-shared\b/.test(configuration));
  return { path, version, major: major?.[1] ? Number(major[1]) : null, banner, isStatic };
}

/** Names in `ffmpeg -protocols` (input and output together). */
export function parseProtocols(output: string): Set<string> {
  const out = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /^ {2}(\w+)\s*$/.exec(line);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

/** Names in `ffmpeg -decoders` / `-encoders`, plus the codec each wraps (`libopus … (codec opus)` → both). */
export function parseCodecs(output: string): Set<string> {
  const out = new Set<string>();
  let body = false;
  for (const line of output.split('\n')) {
    if (/^ -{3,}/.test(line)) {
      body = true;
      continue;
    }
    if (!body) continue;
    const m = /^ [VASD.][A-Z.]{5} (\S+)\s+(.*)$/.exec(line);
    if (!m?.[1]) continue;
    out.add(m[1]);
    const wraps = /\(codec (\w+)\)/.exec(m[2] ?? '');
    if (wraps?.[1]) out.add(wraps[1]);
  }
  return out;
}

const infoCache = new Map<string, FfmpegInfo>();
const capsCache = new Map<string, FfmpegCaps>();

function run(path: string, args: string[]): string {
  try {
    return execFileSync(path, ['-hide_banner', ...args], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 8 << 20 });
  } catch (err) {
    throw new AvlocError('FFMPEG_NOT_FOUND', `${path} ${args.join(' ')} failed`, { cause: err });
  }
}

/** Runs `<path> -version` once per path and caches the answer (FFMPEG_NOT_FOUND when it cannot run). */
export function ffmpegInfo(path: string): FfmpegInfo {
  const hit = infoCache.get(path);
  if (hit) return hit;
  const info = parseFfmpegVersion(path, run(path, ['-version']));
  infoCache.set(path, info);
  return info;
}

/** The protocols, decoders and encoders of a binary, asked once per path. */
export function ffmpegCaps(path: string): FfmpegCaps {
  const hit = capsCache.get(path);
  if (hit) return hit;
  const caps = { protocols: parseProtocols(run(path, ['-protocols'])), decoders: parseCodecs(run(path, ['-decoders'])), encoders: parseCodecs(run(path, ['-encoders'])) };
  capsCache.set(path, caps);
  return caps;
}

/** What of `need` the binary lacks, as "decoder vp8"-style words (empty: it has everything). */
export function missingCaps(caps: FfmpegCaps, need: { readonly [K in keyof FfmpegCaps]?: readonly string[] } = REQUIRED): string[] {
  const word = { protocols: 'protocol', decoders: 'decoder', encoders: 'encoder' } as const;
  const out: string[] = [];
  for (const kind of ['protocols', 'decoders', 'encoders'] as const) {
    for (const name of need[kind] ?? []) if (!caps[kind].has(name)) out.push(`${word[kind]} ${name}`);
  }
  return out;
}
