import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { createLogger } from '../../src/log.ts';
import { createHttpApp } from '../../src/http/app.ts';

/** A raw GET, so paths like /../x reach the server unnormalised (fetch would clean them). */
function rawGet(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('http app: params, 405, 404 JSON, thrown errors become JSON 500; static files are served safely', async () => {
  const root = await mkdtemp(join(tmpdir(), 'avloc-static-'));
  const outside = await mkdtemp(join(tmpdir(), 'avloc-outside-'));
  await writeFile(join(root, 'index.html'), '<h1>viewer</h1>');
  await mkdir(join(root, 'js'));
  await writeFile(join(root, 'js', 'app.js'), 'console.log(1)');
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await symlink(join(outside, 'secret.txt'), join(root, 'link.txt'));
  const app = createHttpApp({
    staticDir: root,
    log: createLogger('test', 'silent'),
    routes: (api) => {
      api.post<{ Params: { id: string } }>('/whip/:id', { bodyLimit: 16 }, async (req, reply) => reply.code(201).send({ id: req.params.id, body: String(req.body) }));
      api.delete('/whip/:id/:session', async (req) => req.params);
      api.get('/boom', async () => {
        throw new Error('kaput');
      });
    },
  });
  await app.ready();
  const server = app.server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  try {
    const post = await fetch(`${base}/whip/cam%201`, { method: 'POST', body: 'offer' });
    assert.equal(post.status, 201);
    assert.deepEqual(await post.json(), { id: 'cam 1', body: 'offer' });
    const big = await fetch(`${base}/whip/cam1`, { method: 'POST', body: 'x'.repeat(100) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    const del = await fetch(`${base}/whip/cam1/abc`, { method: 'DELETE' });
    assert.deepEqual(await del.json(), { id: 'cam1', session: 'abc' });
    assert.equal((await fetch(`${base}/whip/cam1`)).status, 405);
    const boom = await fetch(`${base}/boom`);
    assert.equal(boom.status, 500);
    assert.deepEqual(await boom.json(), { error: { code: 'INTERNAL', message: 'kaput' } });

    const index = await rawGet(port, '/');
    assert.equal(index.status, 200);
    assert.equal(index.type, 'text/html; charset=utf-8');
    assert.equal(index.body, '<h1>viewer</h1>');
    const js = await rawGet(port, '/js/app.js');
    assert.equal(js.type, 'text/javascript; charset=utf-8');
    assert.equal((await rawGet(port, '/js/app.js', 'HEAD')).body, '');
    for (const evil of ['/../' + outside.split('/').pop() + '/secret.txt', '/js/..%2f..%2fetc%2fpasswd', '/%2e%2e/x', '/link.txt', '/nope.js']) {
      const r = await rawGet(port, evil);
      assert.equal(r.status, 404, evil);
      assert.notEqual(r.body, 'secret', evil);
    }
    const badEncoding = await rawGet(port, '/%E0%A4%A');
    assert.equal(badEncoding.status, 400);
    assert.match(badEncoding.body, /PROTOCOL_INVALID/);
  } finally {
    await app.close();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});
