import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FFMPEG, alive, publishRtmp } from '../support/ffmpeg.ts';
import { FIXTURE_MODEL } from '../support/service.ts';

/**
 * `avloc serve` ends on SIGTERM (and SIGINT) within a bounded time with no child process left:
 * every stream's decoder ffmpeg has exited before the process does.
 */
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** Pids of the direct children of `pid` (from /proc). */
function children(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/** An ffmpeg that ignores SIGTERM (an ignored signal stays ignored across exec), as a wedged child would. */
function stubbornFfmpeg(): string {
  const p = join(mkdtempSync(join(tmpdir(), 'avloc-stubborn-')), 'ffmpeg');
  writeFileSync(p, `#!/bin/sh\ntrap '' TERM\nexec ${FFMPEG} "$@"\n`);
  chmodSync(p, 0o755);
  return p;
}

const CASES = [
  { signal: 'SIGTERM', what: 'its decoders' },
  { signal: 'SIGINT', what: 'its decoders' },
  { signal: 'SIGTERM', what: 'decoders that ignore SIGTERM', ffmpeg: stubbornFfmpeg() },
] as const;

for (const c of CASES) {
  const { signal } = c;
  test(`${signal} ends the service with ${c.what}, in bounded time`, { timeout: 60_000 }, async () => {
    const service = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--http-port', '0', '--rtmp-port', '0', '--model', FIXTURE_MODEL], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AVLOC_LOG_LEVEL: 'info', ...('ffmpeg' in c ? { FFMPEG_PATH: c.ffmpeg } : {}) },
    });
    let log = '';
    for (const stream of [service.stdout!, service.stderr!]) {
      stream.on('data', (d: Buffer) => {
        log += d.toString();
      });
    }
    const exited = new Promise<number | null>((r) => service.once('exit', (code) => r(code)));
    const until = async (cond: () => boolean, ms: number, what: string) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; log:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until(() => /rtmp: +rtmp:\/\/localhost:\d+/.test(log), 20_000, 'the service to listen');
    const port = Number(/rtmp: +rtmp:\/\/localhost:(\d+)/.exec(log)![1]);
    const pubs = ['a', 'b'].map((id) => publishRtmp(`rtmp://127.0.0.1:${port}/live/${id}`));
    try {
      let decoders: number[] = [];
      await until(() => {
        decoders = children(service.pid!);
        return decoders.length >= 2;
      }, 20_000, 'two decoder processes');
      const t0 = Date.now();
      service.kill(signal);
      const code = await exited;
      const took = Date.now() - t0;
      assert.equal(code, 0, `clean exit; log:\n${log.slice(-2000)}`);
      assert.ok(took < 15_000, `ended in ${took} ms`);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(decoders.filter(alive), [], 'no decoder process outlives the service');
    } finally {
      await Promise.all(pubs.map((p) => p.kill()));
      if (service.exitCode === null) service.kill('SIGKILL');
    }
  });
}
