/**
 * The viewer's files through @fastify/static. It refuses `..`, `.` and empty segments itself;
 * what it does not check is where a symlink points, so the real path of the file it picked must
 * lie inside the real root. Either refusal answers like a missing file (404), so nothing about
 * the disk shows. Types are this table's where it has one (the viewer's JS must be
 * `text/javascript`), and nosniff keeps a browser from reading a file as another type.
 */
import { realpath } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance } from 'fastify';
import { notFoundHandler } from './error-handler.ts';

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

/** Serves `root` at `/` for GET and HEAD; a path that is not a file inside it answers NOT_FOUND. */
export async function registerStaticFiles(app: FastifyInstance, root: string): Promise<void> {
  const dir = resolve(root);
  // Thrown by onFile and recognised below: a marker, never shown.
  const outside = new Error('the file lies outside the static root');
  const shared = app.errorHandler;
  app.setErrorHandler((err: FastifyError, request, reply) =>
    err === outside || err.code === 'FST_STATIC_FORBIDDEN_PATH' ? notFoundHandler(request, reply) : shared(err, request, reply),
  );
  await app.register(fastifyStatic, {
    root: dir,
    // A missing folder (viewer not built) is logged by the server already; the files just 404.
    suppressWarning: true,
    // One route for every path (not one per file found at start): a rebuilt viewer's new files are served too.
    wildcard: true,
    onFile: async (file: string) => {
      const [realRoot, real] = await Promise.all([realpath(dir), realpath(file)]);
      if (real !== realRoot && !real.startsWith(realRoot + sep)) throw outside;
    },
    setHeaders: (reply, file) => {
      const type = CONTENT_TYPES[extname(file).toLowerCase()];
      if (type) reply.header('content-type', type);
      reply.header('x-content-type-options', 'nosniff');
    },
  });
}
