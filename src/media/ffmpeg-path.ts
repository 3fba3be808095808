import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { AvlocError } from '../errors.ts';

/**
 * Finds the ffmpeg binary. Order: $FFMPEG_PATH → ffmpeg-static (optional dependency, its download
 * often fails, so the file must really be there) → @ffmpeg-installer/ffmpeg (shipped inside the npm
 * tarball; npm may skip install scripts and leave it without +x, so we chmod it once) → `ffmpeg` on PATH.
 */
export interface FfmpegCandidate {
  readonly via: 'FFMPEG_PATH' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'PATH';
  /** The path tried, or null when the package itself is absent. */
  readonly path: string | null;
  /** Why it was not used (absent when it was chosen). */
  readonly rejected?: string;
}

export interface ResolveFfmpegOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Module resolver (tests replace it to simulate absent packages). */
  readonly requireModule?: (id: string) => unknown;
}

const require = createRequire(import.meta.url);

function isExecutableFile(path: string): string | null {
  try {
    if (!statSync(path).isFile()) return 'not a file';
  } catch {
    return 'file does not exist';
  }
  try {
    accessSync(path, constants.X_OK);
    return null;
  } catch {
    return 'not executable';
  }
}

/** The npm-shipped binary may lack +x when install scripts were skipped; try to fix that once. */
function ensureExecutable(path: string): string | null {
  const why = isExecutableFile(path);
  if (why !== 'not executable') return why;
  try {
    chmodSync(path, 0o755);
  } catch {
    return 'not executable (chmod failed)';
  }
  return isExecutableFile(path);
}

function packagePath(requireModule: (id: string) => unknown, id: string): string | null {
  try {
    const mod = requireModule(id) as unknown;
    if (typeof mod === 'string') return mod;
    if (mod && typeof mod === 'object') {
      const obj = mod as { path?: unknown; default?: unknown };
      if (typeof obj.path === 'string') return obj.path;
      if (typeof obj.default === 'string') return obj.default;
    }
    return null;
  } catch {
    // Absent package, or @ffmpeg-installer throwing because its platform binary is missing.
    return null;
  }
}

function onPath(env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg');
    if (isExecutableFile(p) === null) return p;
  }
  return null;
}

/** Every candidate in order, with the reason each was skipped; the first without `rejected` wins. */
export function ffmpegCandidates(options: ResolveFfmpegOptions = {}): FfmpegCandidate[] {
  const env = options.env ?? process.env;
  const req = options.requireModule ?? ((id: string) => require(id) as unknown);
  const out: FfmpegCandidate[] = [];
  const fromEnv = env.FFMPEG_PATH;
  if (fromEnv) {
    const why = isExecutableFile(fromEnv);
    out.push(why ? { via: 'FFMPEG_PATH', path: fromEnv, rejected: why } : { via: 'FFMPEG_PATH', path: fromEnv });
    // An explicit choice that is broken must not silently fall through to another binary.
    return out;
  }
  const st = packagePath(req, 'ffmpeg-static');
  if (st === null) out.push({ via: 'ffmpeg-static', path: null, rejected: 'package not installed' });
  else {
    const why = isExecutableFile(st);
    out.push(why ? { via: 'ffmpeg-static', path: st, rejected: why } : { via: 'ffmpeg-static', path: st });
  }
  const inst = packagePath(req, '@ffmpeg-installer/ffmpeg');
  if (inst === null) out.push({ via: '@ffmpeg-installer/ffmpeg', path: null, rejected: 'package not installed' });
  else {
    const why = ensureExecutable(inst);
    out.push(why ? { via: '@ffmpeg-installer/ffmpeg', path: inst, rejected: why } : { via: '@ffmpeg-installer/ffmpeg', path: inst });
  }
  const p = onPath(env);
  out.push(p ? { via: 'PATH', path: p } : { via: 'PATH', path: null, rejected: 'no ffmpeg on PATH' });
  return out;
}

/** The ffmpeg binary to run, or FFMPEG_NOT_FOUND listing every place tried and why it failed. */
export function resolveFfmpeg(options: ResolveFfmpegOptions = {}): string {
  const candidates = ffmpegCandidates(options);
  for (const c of candidates) {
    if (!c.rejected && c.path) return c.path;
  }
  const tried = candidates.map((c) => `${c.via}${c.path ? ` (${c.path})` : ''}: ${c.rejected ?? '?'}`).join('; ');
  throw new AvlocError('FFMPEG_NOT_FOUND', `no usable ffmpeg binary; tried ${tried}`);
}

export interface FfmpegInfo {
  readonly path: string;
  /** e.g. "5.1.6-0+deb12u1" or "N-47683-g0e8eb07980-static". */
  readonly version: string;
  /** Major version when the version string has one (git builds do not). */
  readonly major: number | null;
  /** The first line of `ffmpeg -version`. */
  readonly banner: string;
}

const infoCache = new Map<string, FfmpegInfo>();

/** Parses the first line of `ffmpeg -version` (pure; exported for tests). */
export function parseFfmpegVersion(path: string, output: string): FfmpegInfo {
  const banner = output.split('\n', 1)[0]?.trim() ?? '';
  const m = /ffmpeg version (\S+)/.exec(banner);
  const version = m?.[1] ?? 'unknown';
  const major = /^n?(\d+)\./.exec(version);
  return { path, version, major: major?.[1] ? Number(major[1]) : null, banner };
}

/** Runs `<path> -version` once per path and caches the answer (FFMPEG_NOT_FOUND when it cannot run). */
export function ffmpegInfo(path: string): FfmpegInfo {
  const hit = infoCache.get(path);
  if (hit) return hit;
  let out: string;
  try {
    out = execFileSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new AvlocError('FFMPEG_NOT_FOUND', `${path} -version failed`, { cause: err });
  }
  const info = parseFfmpegVersion(path, out);
  infoCache.set(path, info);
  return info;
}
