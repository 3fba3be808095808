import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { AvlocError } from '../../src/errors.ts';

test('defaults run out of the box', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.http.port, 8080);
  assert.equal(c.rtmp.port, 1935);
  assert.equal(c.model.dir, 'models/avin-centernet');
  assert.equal(c.model.device, 'cpu');
});

test('layers override in order: file < env < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'avloc-cfg-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ http: { port: 9000 }, pipeline: { maxBatch: 4 }, model: { dir: 'a' } }));
    const c = loadConfig({ file, env: { AVLOC_HTTP_PORT: '9100', AVLOC_MODEL: 'b' }, flags: { model: { dir: 'c' } } });
    assert.equal(c.pipeline.maxBatch, 4, 'file value kept');
    assert.equal(c.http.port, 9100, 'env beats file');
    assert.equal(c.model.dir, 'c', 'flags beat env');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid values are rejected with the key named', () => {
  assert.throws(
    () => loadConfig({ env: { AVLOC_HTTP_PORT: '70000' } }),
    (e: unknown) => e instanceof AvlocError && e.code === 'CONFIG_INVALID' && /http\.port/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { model: { device: 'tpu' } } }),
    (e: unknown) => e instanceof AvlocError && /model\.device/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { pipline: {} } }),
    (e: unknown) => e instanceof AvlocError && /pipline|Unrecognized/.test(e.message),
  );
});

test('a config file that is not JSON names the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'avloc-cfg-'));
  try {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ not json');
    assert.throws(() => loadConfig({ file, env: {} }), (e: unknown) => e instanceof AvlocError && e.message.includes(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
