import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AvlocError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { SupervisedProcess } from '../../src/media/supervised-process.ts';

/** Real child processes (node itself), so the tests do not depend on ffmpeg. */
const log = createLogger('test', 'warn');
const node = process.execPath;

function gone(pid: number | undefined): boolean {
  try {
    process.kill(pid ?? -1, 0);
    return false;
  } catch {
    return true;
  }
}

test('ready on the first byte of an extra pipe (fd 3), exit reported with its code', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({
    command: node,
    args: ['-e', "require('fs').writeSync(3, 'x'); setTimeout(() => process.exit(7), 50)"],
    extraPipes: 1,
    logger: log,
  });
  const data: Buffer[] = [];
  p.pipe(3).on('data', (b: Buffer) => data.push(b));
  await p.start();
  assert.equal(p.ready, true);
  const exit = await p.exited;
  assert.deepEqual(exit, { code: 7, signal: null, requested: false });
  assert.equal(Buffer.concat(data).toString(), 'x');
});

test('exit before ready rejects start() with FFMPEG_EXITED carrying the stderr tail', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({
    command: node,
    args: ['-e', "console.error('first line'); console.error('bad input: nothing to read'); process.exit(1)"],
    logger: log,
  });
  await assert.rejects(p.start(), (err: unknown) => err instanceof AvlocError && err.code === 'FFMPEG_EXITED' && /bad input: nothing to read/.test(err.message));
  assert.deepEqual(p.stderrLines(), ['first line', 'bad input: nothing to read']);
});

test('start timeout rejects with FFMPEG_START_TIMEOUT and kills the child', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({ command: node, args: ['-e', 'setInterval(() => {}, 1000)'], logger: log, startTimeoutMs: 200 });
  const pid = p.pid;
  await assert.rejects(p.start(), (err: unknown) => err instanceof AvlocError && err.code === 'FFMPEG_START_TIMEOUT');
  const exit = await p.exited;
  assert.equal(exit.requested, true);
  assert.ok(gone(pid));
});

test('a caller predicate on stderr lines can declare readiness', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({
    command: node,
    args: ['-e', "console.error('warming up'); console.error('READY now'); setInterval(() => {}, 1000)"],
    logger: log,
    readyOnLine: (l) => l.startsWith('READY'),
  });
  await p.start();
  await p.close();
});

test('close() escalates to SIGKILL when SIGTERM is ignored, and is idempotent', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({
    command: node,
    args: ['-e', "process.on('SIGTERM', () => {}); process.stdout.write('up'); setInterval(() => {}, 1000)"],
    logger: log,
    killGraceMs: 200,
  });
  await p.start();
  const [a, b] = await Promise.all([p.close(), p.close()]);
  assert.equal(a, b);
  assert.equal(a.signal, 'SIGKILL');
  assert.equal(a.requested, true);
  assert.ok(gone(p.pid));
});

test('stderr ring keeps only the last N lines', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({
    command: node,
    args: ['-e', 'for (let i = 0; i < 100; i++) console.error("line " + i)'],
    logger: log,
    stderrRing: 3,
  });
  await p.start().catch(() => undefined);
  await p.exited;
  assert.deepEqual(p.stderrLines(), ['line 97', 'line 98', 'line 99']);
});

test('a missing binary is FFMPEG_NOT_FOUND, not a crash', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({ command: '/nonexistent/ffmpeg', args: [], logger: createLogger('test', 'silent') });
  await assert.rejects(p.start(), (err: unknown) => err instanceof AvlocError && err.code === 'FFMPEG_NOT_FOUND');
});

test('a child can run at a lower CPU priority (decoders yield to inference)', { timeout: 30_000 }, async () => {
  const p = new SupervisedProcess({
    command: node,
    args: ['-e', "require('fs').writeSync(3, 'x'); setInterval(() => {}, 1000)"],
    extraPipes: 1,
    logger: log,
    nice: 5,
  });
  p.pipe(3).resume();
  await p.start();
  try {
    const { getPriority } = await import('node:os');
    assert.equal(getPriority(p.pid!) - getPriority(), 5, 'child is 5 nicer than this process');
  } finally {
    await p.close();
  }
});
