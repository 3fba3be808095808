import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '../auth/tokens.ts';
import { resolveFfmpeg } from '../media/ffmpeg-path.ts';
import { assetCacheState, checkEncoders, checkPython, findPython, onPath } from './preflight.ts';

/**
 * `npm run demo [-- FLAGS]`: checks what the demo generator needs, builds the corpus' asset cache
 * on a first run, then runs `python3 -m avloc_demo.stream FLAGS` (models/avloc_demo/), which
 * publishes a synthetic scene to rtmp://127.0.0.1:${AVLOC_RTMP_PORT:-1935}/live/demo. With auth on
 * (AVLOC_AUTH_SECRET set) it signs its own publish token for the stream, unless AVLOC_TOKEN gives one.
 * The generator is Python because the assets and scene code it reuses are.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODELS = join(ROOT, 'models');

function fail(why: string): never {
  process.stderr.write(`demo: ${why}\n`);
  process.exit(1);
}

function prepareAssets(python: string): void {
  const state = assetCacheState(MODELS);
  if (state.unpacked && state.rendered) return;
  if (!state.unpacked && !onPath('apt-get')) fail('the corpus assets come from Debian packages, and apt-get is missing');
  if (!state.rendered && !onPath('fluidsynth')) fail('first run renders MIDI instruments: sudo apt-get install fluidsynth');
  process.stderr.write(
    'demo: first run — fetching the scene corpus\' assets into models/.cache (once: `apt-get download` of ' +
      '10 Debian packages, ~460 MB, unpacked without installing; `npm pack @lobehub/fluent-emoji-3d`; ' +
      'fluidsynth renders). See models/avloc_corpus/sources/packages.py.\n',
  );
  const r = spawnSync(python, ['-c', 'from avloc_corpus.sources import packages; packages.ensure_packages()'], {
    cwd: MODELS,
    stdio: 'inherit',
  });
  if (r.status !== 0) fail('fetching the corpus assets failed (see above); `apt-get update` may help');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const python = findPython();
  const pyProblem = checkPython(python);
  if (pyProblem) fail(pyProblem);
  let ffmpeg: string;
  try {
    ffmpeg = resolveFfmpeg();
  } catch (e) {
    fail((e as Error).message);
  }
  const encProblem = checkEncoders(ffmpeg);
  if (encProblem) fail(encProblem);
  prepareAssets(python);
  const port = process.env.AVLOC_RTMP_PORT;
  const url = args.includes('--url') || !port ? [] : ['--url', `rtmp://127.0.0.1:${port}/live`];
  const env = { ...process.env };
  const secret = process.env.AVLOC_AUTH_SECRET;
  if (secret && !env.AVLOC_TOKEN) {
    const at = args.indexOf('--stream-id');
    const id = (at >= 0 ? args[at + 1] : undefined) ?? 'demo';
    env.AVLOC_TOKEN = await signToken(secret, { publish: [id], ttlSeconds: 7 * 24 * 3600 });
  }
  const child = spawn(python, ['-m', 'avloc_demo.stream', '--ffmpeg', ffmpeg, ...url, ...args], {
    cwd: MODELS,
    stdio: 'inherit',
    env,
  });
  // Ctrl-C reaches the whole process group by itself; a SIGTERM sent to this process alone is passed on
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGINT', () => undefined);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

void main();
