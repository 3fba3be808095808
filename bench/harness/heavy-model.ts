import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findPython } from '../../src/demo/preflight.ts';

/**
 * The heavy regime's model: the full-size AVIN-RN architecture (ResNet-18 on both branches, the
 * official model's size) with random weights, exported by the model toolkit into the ignored cache.
 * Its weights (~290 MB) are not shipped; the bench makes them once with the toolkit's exporter,
 * which needs Python with torch and onnx (the Debian packages the test preflight installs).
 */
export const HEAVY_DIR = 'models/.cache/bundles/avin-rn-random';

export function heavyExportCommand(outDir: string): { python: string; args: string[]; cwd: string } {
  const python = findPython();
  return { python, args: ['-m', 'avloc_toolkit.export', '--preset', 'avin-rn', '--seed', '0', '--random', '--out', resolve(outDir)], cwd: 'models' };
}

/** The bundle's folder, exported first if absent; or why it could not be made. */
export function ensureHeavyModel(dir: string, log: (line: string) => void): { dir: string } | { error: string } {
  if (existsSync(join(dir, 'model.json'))) return { dir };
  if (dir !== HEAVY_DIR) return { error: `${dir} has no model.json` };
  const cmd = heavyExportCommand(dir);
  log(`bench: exporting the full-size AVIN-RN with random weights into ${dir} (once)`);
  const r = spawnSync(cmd.python, cmd.args, { cwd: cmd.cwd, encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0 && existsSync(join(dir, 'model.json'))) return { dir };
  const why = r.error ? r.error.message : (r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? `exit ${String(r.status)}`;
  return { error: `could not export it (${cmd.python} ${cmd.args.join(' ')} in models/: ${why})` };
}
