/** The viewer's files, served safely: no path leaves the root, symlinks included. */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { sendError } from './answers.ts';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves `pathname` from `root`. Path safety: decoded segments may not contain `..`, separators
 * or NUL, and the real path (symlinks resolved) must stay inside the real root.
 */
export async function serveStatic(root: string, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const notFound = (): void => sendError(res, 'NOT_FOUND', `not found: ${pathname}`);
  let segs: string[];
  try {
    segs = pathname.split('/').filter((p) => p.length > 0).map((s) => decodeURIComponent(s));
  } catch {
    notFound();
    return;
  }
  if (segs.some((s) => s === '..' || s === '.' || s.includes('/') || s.includes('\\') || s.includes('\0'))) {
    notFound();
    return;
  }
  let file = join(root, ...segs);
  try {
    const realRoot = await realpath(root);
    let st = await stat(file);
    if (st.isDirectory()) {
      file = join(file, 'index.html');
      st = await stat(file);
    }
    const real = await realpath(file);
    if (!st.isFile() || (real !== realRoot && !real.startsWith(realRoot + sep))) {
      notFound();
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((done) => {
      const s = createReadStream(real);
      s.on('error', () => {
        res.destroy();
        done();
      });
      s.on('end', () => done());
      s.pipe(res);
    });
  } catch {
    notFound();
  }
}
