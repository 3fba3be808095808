import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configSchema } from '../../../src/config/schema.ts';
import { createLogger } from '../../../src/log.ts';
import { startServer } from '../../../src/server.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Builds the viewer with its real build script into `outdir`, so tests never serve a stale dist. */
export async function buildViewerInto(outdir: string): Promise<void> {
  await run(process.execPath, ['web-viewer/build.mjs', '--outdir', outdir], { cwd: root });
}

export type RunningService = Awaited<ReturnType<typeof startServer>>;

/** The real service on loopback with the random-weight fixture model; port 0 = any free port. */
export async function startService(opts: { viewerDir: string; httpPort?: number; authSecret?: string }): Promise<RunningService> {
  const config = configSchema.parse({
    http: { host: '127.0.0.1', port: opts.httpPort ?? 0 },
    rtmp: { host: '127.0.0.1', port: 0 },
    model: { dir: fileURLToPath(new URL('../../fixtures/avin-tiny-random', import.meta.url)), intraOpThreads: 1 },
    viewer: { dir: opts.viewerDir },
    ...(opts.authSecret ? { auth: { secret: opts.authSecret } } : {}),
  });
  return startServer(config, createLogger('e2e', process.env.AVLOC_TEST_DEBUG ? 'debug' : 'warn'));
}
