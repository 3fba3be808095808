import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { bearerToken } from '../../src/auth/auth.ts';
import { checkExposure } from '../../src/auth/exposure.ts';
import { matchesPattern, mayPublish, maySubscribe } from '../../src/auth/grants.ts';
import { createVerifier, signToken } from '../../src/auth/tokens.ts';
import { loadConfig } from '../../src/config/load.ts';
import { AvlocError } from '../../src/errors.ts';

const SECRET = 'unit-secret-that-is-at-least-32-bytes-long';
const verify = createVerifier({ secret: SECRET });
const code = (err: unknown): string => (err instanceof AvlocError ? err.code : String(err));

test('stream patterns: exact ids, * for any run of id characters, nothing else', () => {
  assert.ok(matchesPattern('cam1', 'cam1'));
  assert.ok(!matchesPattern('cam1', 'cam10'));
  assert.ok(matchesPattern('cam-*', 'cam-'));
  assert.ok(matchesPattern('cam-*', 'cam-lobby_2'));
  assert.ok(!matchesPattern('cam-*', 'xcam-1'));
  assert.ok(matchesPattern('*', 'anything-at_all'));
  assert.ok(matchesPattern('a*z', 'a-b-z') && !matchesPattern('a*z', 'a-b-zz-y'));
  const g = { publish: ['cam-1'], subscribe: ['lobby-*'], admin: false };
  assert.ok(mayPublish(g, 'cam-1') && !mayPublish(g, 'cam-2'));
  assert.ok(maySubscribe(g, 'lobby-3') && !maySubscribe(g, 'cam-1'));
  assert.ok(maySubscribe({ publish: [], subscribe: [], admin: true }, 'cam-1'), 'admin sees every stream');
});

test('a signed token round-trips its grants and subject', async () => {
  const t = await signToken(SECRET, { publish: ['cam-1'], subscribe: ['cam-*'], ttlSeconds: 60, subject: 'lobby' });
  assert.deepEqual(await verify(t), { publish: ['cam-1'], subscribe: ['cam-*'], admin: false, subject: 'lobby' });
});

test('refused: another secret, tampering, alg none, no exp, expired, oversized, malformed claim', async () => {
  const other = await signToken('another-secret-that-is-also-32-bytes-long!', { admin: true, ttlSeconds: 60 });
  await assert.rejects(verify(other), (e) => code(e) === 'UNAUTHORIZED' && /bad signature/.test((e as Error).message));
  const good = await signToken(SECRET, { subscribe: ['a'], ttlSeconds: 60 });
  const [h, , sig] = good.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ avloc: { admin: true }, exp: 9e9 })).toString('base64url')}.${sig}`;
  await assert.rejects(verify(forged), (e) => code(e) === 'UNAUTHORIZED');
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"exp":9999999999,"avloc":{"admin":true}}').toString('base64url')}.`;
  await assert.rejects(verify(none), (e) => code(e) === 'UNAUTHORIZED');
  const key = new TextEncoder().encode(SECRET);
  const noExp = await new SignJWT({ avloc: { admin: true } }).setProtectedHeader({ alg: 'HS256' }).sign(key);
  await assert.rejects(verify(noExp), (e) => code(e) === 'UNAUTHORIZED', 'a token must expire');
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ avloc: { admin: true } }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now - 5).sign(key);
  await assert.rejects(verify(expired), (e) => code(e) === 'UNAUTHORIZED' && /expired/.test((e as Error).message));
  const hs512 = await new SignJWT({ avloc: { admin: true } }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime(now + 60).sign(key);
  await assert.rejects(verify(hs512), (e) => code(e) === 'UNAUTHORIZED', 'only HS256 with the secret');
  const badClaim = await new SignJWT({ avloc: { publish: ['../etc'] } }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now + 60).sign(key);
  await assert.rejects(verify(badClaim), (e) => code(e) === 'UNAUTHORIZED' && /claim/.test((e as Error).message));
  await assert.rejects(verify('x'.repeat(5000)), (e) => code(e) === 'UNAUTHORIZED');
  await assert.rejects(signToken('short', { admin: true, ttlSeconds: 60 }), (e) => code(e) === 'CONFIG_INVALID');
});

test('Bearer tokens are read from the Authorization header only in its one form', () => {
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as Parameters<typeof bearerToken>[0];
  assert.equal(bearerToken(req('Bearer abc.def.ghi')), 'abc.def.ghi');
  assert.equal(bearerToken(req('bearer abc')), 'abc');
  assert.equal(bearerToken(req('Basic dXNlcjpwYXNz')), undefined);
  assert.equal(bearerToken(req()), undefined);
});

test('without auth only loopback listeners are allowed, unless anonymous access is asked for', () => {
  assert.doesNotThrow(() => checkExposure({ http: '127.0.0.1', rtmp: 'localhost' }, false, false));
  assert.throws(() => checkExposure({ http: '127.0.0.1', rtmp: '0.0.0.0' }, false, false), /rtmp listens on 0\.0\.0\.0 with no auth/);
  assert.doesNotThrow(() => checkExposure({ http: '0.0.0.0' }, true, false));
  assert.doesNotThrow(() => checkExposure({ http: '0.0.0.0' }, false, true));
});

test('config: the secret from the environment stays a string; a short one is refused; origins are a list', () => {
  const c = loadConfig({ env: { AVLOC_AUTH_SECRET: '1'.repeat(40), AVLOC_ALLOWED_ORIGINS: 'https://a.example, https://b.example' } });
  assert.equal(c.auth.secret, '1'.repeat(40));
  assert.deepEqual(c.http.allowedOrigins, ['https://a.example', 'https://b.example']);
  assert.equal(c.http.host, '127.0.0.1', 'loopback by default');
  assert.throws(() => loadConfig({ env: { AVLOC_AUTH_SECRET: 'too-short' } }), /auth\.secret must be at least 32 bytes/);
});

test('avloc token prints a token the service accepts, and says what is missing', async () => {
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  const run = promisify(execFile);
  const env = { ...process.env, AVLOC_AUTH_SECRET: SECRET };
  const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, 'token', '--publish', 'cam-1', '--subscribe', 'cam-*', '--ttl', '120'], { env });
  const g = await verify(stdout.trim());
  assert.deepEqual([g.publish, g.subscribe, g.admin], [['cam-1'], ['cam-*'], false]);
  await assert.rejects(run(process.execPath, ['--import', 'tsx', cli, 'token', '--admin'], { env: { ...process.env, AVLOC_AUTH_SECRET: '' } }), /needs auth\.secret/);
  await assert.rejects(run(process.execPath, ['--import', 'tsx', cli, 'token'], { env }), /say what the token grants/);
});
