import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import type { ZodTypeAny } from 'zod';
import { configSchema } from '../../src/config/schema.ts';
import { loadConfig } from '../../src/config/load.ts';
import { SETTINGS, envOverrides, flagOptions, flagOverrides } from '../../src/config/settings.ts';

/** The schema node at a dotted key; undefined when it has none. */
function schemaAt(key: string): ZodTypeAny | undefined {
  let node: ZodTypeAny | undefined = configSchema;
  for (const part of key.split('.')) {
    // Through .default(), .optional() and .refine() wrappers to the object inside.
    while (node && (node._def.innerType || node._def.schema)) node = (node._def.innerType ?? node._def.schema) as ZodTypeAny;
    const shape: Record<string, ZodTypeAny> | undefined = (node as unknown as { shape?: Record<string, ZodTypeAny> } | undefined)?.shape;
    node = shape?.[part];
  }
  return node;
}

test('every setting of the table names a key of the schema, once', () => {
  for (const s of SETTINGS) assert.ok(schemaAt(s.key), `${s.key} is not in the schema`);
  const keys = SETTINGS.map((s) => s.key);
  assert.equal(new Set(keys).size, keys.length);
  const envs = SETTINGS.flatMap((s) => (s.env ? [s.env] : []));
  assert.equal(new Set(envs).size, envs.length);
});

test('a flag and its variable give the same value', () => {
  const env = envOverrides({ AVLOC_MAX_BATCH: '4', AVLOC_PREVIEW: 'false', AVLOC_ALLOWED_ORIGINS: 'http://a, http://b', AVLOC_MODEL: '123' });
  const { values } = parseArgs({ args: ['--max-batch', '4', '--no-preview', '--model', '123'], options: flagOptions('serve'), strict: true });
  const flags = flagOverrides('serve', values);
  assert.deepEqual(env['pipeline'], { maxBatch: 4 });
  assert.deepEqual(flags['pipeline'], { maxBatch: 4 });
  assert.deepEqual(env['preview'], { enabled: false });
  assert.deepEqual(flags['preview'], { enabled: false });
  assert.deepEqual(env['model'], { dir: '123' }, 'a folder named with digits stays a string');
  assert.deepEqual(flags['model'], { dir: '123' });
  assert.deepEqual(env['http'], { allowedOrigins: ['http://a', 'http://b'] });
});

test('secrets are never coerced, bad numbers reach the schema with their key named', () => {
  const c = loadConfig({ env: { AVLOC_AUTH_SECRET: '1'.repeat(40) } });
  assert.equal(c.auth.secret, '1'.repeat(40));
  assert.throws(() => loadConfig({ env: { AVLOC_MAX_BATCH: 'lots' } }), /pipeline\.maxBatch/);
});

test('analyze takes the model flags of the table and not the service-only ones', () => {
  const opts = flagOptions('analyze');
  assert.deepEqual(Object.keys(opts).sort(), ['device', 'intra-op-threads', 'max-batch', 'model']);
  const { values } = parseArgs({ args: ['--max-batch', '2', '--device', 'cpu'], options: opts, strict: true });
  assert.deepEqual(flagOverrides('analyze', values), { pipeline: { maxBatch: 2 }, model: { device: 'cpu' } });
  assert.ok('redis' in flagOptions('serve'), '--redis, the old name of --cluster, still parses');
});
