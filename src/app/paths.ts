import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder (where package.json, models/ and web-viewer/ live). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A configured path: absolute as given; relative to the working directory when it exists there,
 * else relative to the package, so `npx avloc serve` finds the bundled model and viewer from anywhere.
 */
export function resolveConfigPath(path: string): string {
  if (isAbsolute(path)) return path;
  const fromCwd = resolve(path);
  if (existsSync(fromCwd)) return fromCwd;
  return join(PACKAGE_ROOT, path);
}
