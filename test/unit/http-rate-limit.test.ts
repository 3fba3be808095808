import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/config/schema.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

/** A GET from a chosen local address: all of 127.0.0.0/8 reaches the loopback listener. */
function get(port: number, path: string, from = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: from, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('http.rateLimit defaults live in the schema: 120 requests per 10 s per address', () => {
  assert.deepEqual(configSchema.parse({}).http.rateLimit, { max: 120, windowMs: 10_000 });
  assert.deepEqual(configSchema.parse({ http: { rateLimit: { max: 0 } } }).http.rateLimit, { max: 0, windowMs: 10_000 });
});

test('rate limit: past max an address gets 429 RATE_LIMITED with Retry-After; other addresses, static files and the next window do not', async () => {
  const root = await mkdtemp(join(tmpdir(), 'avloc-rate-'));
  await writeFile(join(root, 'index.html'), '<h1>viewer</h1>');
  const windowMs = 1500;
  const app = createHttpApp({
    log: createLogger('test', 'silent'),
    staticDir: root,
    rateLimit: { max: 3, windowMs },
    routes: (api) => {
      api.get('/api/ping', async () => ({ ok: true }));
    },
  });
  await app.ready();
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  const port = (app.server.address() as AddressInfo).port;
  try {
    const started = Date.now();
    for (let i = 0; i < 3; i++) assert.equal((await get(port, '/api/ping')).status, 200, `request ${i + 1} is within the limit`);
    const refused = await get(port, '/api/ping');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.retryAfter) >= 1, `Retry-After: ${refused.retryAfter}`);
    const body = JSON.parse(refused.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.match(body.error.message, /more than 3 requests/);

    assert.equal((await get(port, '/api/ping', '127.0.0.2')).status, 200, 'another address has its own count');
    for (let i = 0; i < 5; i++) assert.equal((await get(port, '/')).status, 200, 'the viewer files are not counted');

    await new Promise((r) => setTimeout(r, Math.max(0, started + windowMs + 200 - Date.now())));
    assert.equal((await get(port, '/api/ping')).status, 200, 'the next window starts afresh');
  } finally {
    await app.close();
    await rm(root, { recursive: true, force: true });
  }
});
