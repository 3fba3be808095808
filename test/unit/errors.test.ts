import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvlocError, ERRORS, describeError, httpStatus } from '../../src/errors.ts';
import type { ErrorCode } from '../../src/errors.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('AvlocError keeps code and cause; its HTTP status comes from the catalog', () => {
  const c = new Error('x');
  const e = new AvlocError('INTERNAL', 'boom', { cause: c });
  assert.equal(e.code, 'INTERNAL');
  assert.equal(e.cause, c);
  assert.equal(describeError(e), 'INTERNAL: boom');
  assert.equal(httpStatus(new AvlocError('STREAM_EXISTS', 'x')), 409);
  assert.equal(httpStatus(new AvlocError('UNAUTHORIZED', 'x')), 401);
  assert.equal(httpStatus(new Error('plain')), 500);
});

test('the catalog holds only codes the service uses, and docs/PROTOCOL.md lists every one', () => {
  const text = sources(join(root, 'src')).filter((p) => !p.endsWith('errors.ts')).map((p) => readFileSync(p, 'utf8')).join('\n');
  const protocol = readFileSync(join(root, 'docs/PROTOCOL.md'), 'utf8');
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    assert.ok(text.includes(`'${code}'`), `${code} is in the catalog but nothing in src/ uses it`);
    assert.ok(protocol.includes(`\`${code}\``), `${code} is missing from docs/PROTOCOL.md`);
    assert.ok(ERRORS[code].status >= 400 && ERRORS[code].status < 600 && ERRORS[code].meaning.length > 0);
  }
});
