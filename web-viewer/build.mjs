// Bundles the viewer into web-viewer/dist/ (index.html, styles.css, app.js + app.js.map), which the
// server serves at `/`. esbuild follows the viewer's imports into src/wire/client.ts, so the
// browser speaks the protocol through the same typed client as every other consumer.
// Usage: node web-viewer/build.mjs [--outdir DIR] [--dev]
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));

/** Build the viewer into `outdir`; returns the files written. */
export async function buildViewer({ outdir = join(here, 'dist'), dev = false } = {}) {
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(here, 'src', 'main.ts') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    sourcemap: true,
    minify: !dev,
    metafile: true,
    logLevel: 'warning',
    // The shared client may import node-only modules behind a runtime check; never bundle them.
    external: ['node:*'],
  });
  for (const f of ['index.html', 'styles.css']) await copyFile(join(here, f), join(outdir, f));
  return [...Object.keys(result.metafile.outputs), join(outdir, 'index.html'), join(outdir, 'styles.css')];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, dev: { type: 'boolean', default: false } } });
  const files = await buildViewer({ outdir: values.outdir ? resolve(values.outdir) : undefined, dev: values.dev });
  console.log(`web viewer built: ${files.join(', ')}`);
}
