import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { AvlocError, describeError } from '../errors.ts';
import { ffmpegCaps, ffmpegInfo, missingCaps } from './ffmpeg-probe.ts';

export { ffmpegInfo, parseFfmpegVersion } from './ffmpeg-probe.ts';
export type { FfmpegInfo } from './ffmpeg-probe.ts';

/**
 * Finds the ffmpeg binary. Order: $FFMPEG_PATH (an explicit choice, used as it is) → an `ffmpeg`
 * on PATH that is recent enough (4+) and has what the service needs (ffmpeg-probe.ts REQUIRED):
 * the user's or the distribution's current build → ffmpeg-static (optional dependency; its download
 * often fails, so the file must really be there) → @ffmpeg-installer/ffmpeg (a 2018 static build
 * inside the npm tarball, the fallback that is always there; npm may leave it without +x, so we chmod it).
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
  /** Why an ffmpeg on PATH may not be used, or null (tests replace the real probe). */
  readonly checkUsable?: (path: string) => string | null;
}

/** A PATH ffmpeg is used when it runs, is 4.0 or newer (or a git build) and has REQUIRED. */
export function pathFfmpegProblem(path: string): string | null {
  try {
    const info = ffmpegInfo(path);
    if (info.major !== null && info.major < 4) return `version ${info.version} is older than 4`;
    const missing = missingCaps(ffmpegCaps(path));
    return missing.length > 0 ? `lacks ${missing.join(', ')}` : null;
  } catch (err) {
    return `does not run (${describeError(err)})`;
  }
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
  const p = onPath(env);
  if (p === null) out.push({ via: 'PATH', path: null, rejected: 'no ffmpeg on PATH' });
  else {
    const why = (options.checkUsable ?? pathFfmpegProblem)(p);
    out.push(why ? { via: 'PATH', path: p, rejected: why } : { via: 'PATH', path: p });
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
  return out;
}

export interface FfmpegChoice {
  readonly path: string;
  readonly via: FfmpegCandidate['via'];
  /** The candidates before it and why each was passed over (what the start-up log says). */
  readonly passedOver: readonly FfmpegCandidate[];
}

const choiceCache = new Map<string, FfmpegChoice>();

/** The ffmpeg to run and why, or FFMPEG_NOT_FOUND listing every place tried and why it failed. */
export function chooseFfmpeg(options: ResolveFfmpegOptions = {}): FfmpegChoice {
  // The real environment's answer is asked once per process (it probes binaries); tests pass options.
  const key = Object.keys(options).length === 0 ? `${process.env.FFMPEG_PATH ?? ''}|${process.env.PATH ?? ''}` : null;
  const hit = key === null ? undefined : choiceCache.get(key);
  if (hit) return hit;
  const candidates = ffmpegCandidates(options);
  const at = candidates.findIndex((c) => !c.rejected && c.path);
  const chosen = candidates[at];
  if (!chosen?.path) {
    const tried = candidates.map((c) => `${c.via}${c.path ? ` (${c.path})` : ''}: ${c.rejected ?? '?'}`).join('; ');
    throw new AvlocError('FFMPEG_NOT_FOUND', `no usable ffmpeg binary; tried ${tried}`);
  }
  const choice = { path: chosen.path, via: chosen.via, passedOver: candidates.slice(0, at) };
  if (key !== null) choiceCache.set(key, choice);
  return choice;
}

/** The ffmpeg binary to run (see chooseFfmpeg). */
export function resolveFfmpeg(options: ResolveFfmpegOptions = {}): string {
  return chooseFfmpeg(options).path;
}
