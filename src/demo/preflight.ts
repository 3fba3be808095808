import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `npm run demo` needs besides npm packages, checked before anything starts so that a fresh
 * machine gets one clear sentence per missing piece instead of a Python traceback.
 */
export const PY_MODULES = ['numpy', 'scipy', 'PIL', 'soundfile'] as const;
export const PY_APT = 'python3-numpy python3-scipy python3-pil python3-soundfile';

/** Debian's interpreter first: the toolkit is tested with it and its apt-installed modules. */
export function findPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AVLOC_PYTHON) return env.AVLOC_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** null when the interpreter runs and imports every module the generator uses, else why not. */
export function checkPython(python: string): string | null {
  const r = spawnSync(python, ['-c', `import ${PY_MODULES.join(', ')}`], { encoding: 'utf8' });
  if (r.error) return `cannot run ${python} (${r.error.message}); install python3 or set AVLOC_PYTHON`;
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    return `${python} lacks a module the demo needs (${last}); on Debian/Ubuntu: sudo apt-get install ${PY_APT}`;
  }
  return null;
}

/** null when this ffmpeg can encode what the demo publishes (H.264 with libx264, AAC). */
export function checkEncoders(ffmpeg: string): string | null {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-encoders'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `cannot run ${ffmpeg} -encoders`;
  const missing = ['libx264', 'aac'].filter((e) => !new RegExp(`^\\s*A?V?\\S*\\s+${e}\\s`, 'm').test(r.stdout));
  return missing.length ? `${ffmpeg} has no ${missing.join(' or ')} encoder; set FFMPEG_PATH to one that has` : null;
}

export interface AssetCacheState {
  /** Every Debian package of the corpus is unpacked (the builder leaves a stamp per package). */
  readonly unpacked: boolean;
  /** The General MIDI renders exist (else the first run needs `fluidsynth`). */
  readonly rendered: boolean;
}

/** How far the scene corpus' asset cache (models/.cache, gitignored) has been built on this machine. */
export function assetCacheState(modelsDir: string): AssetCacheState {
  const cache = join(modelsDir, '.cache');
  const list = (d: string): string[] => (existsSync(d) ? readdirSync(d) : []);
  const stamps = list(join(cache, 'debs')).filter((f) => f.endsWith('.unpacked'));
  const fluent = existsSync(join(cache, 'fluent', 'package', 'assets'));
  const renders = list(join(cache, 'renders')).filter((f) => f.endsWith('.npz'));
  // 10 apt packages in avloc_corpus/sources/packages.py; 3 soundfonts are rendered
  return { unpacked: stamps.length >= 10 && fluent, rendered: renders.length >= 3 };
}

/** Whether `name` is a command on PATH. */
export function onPath(name: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0;
}
