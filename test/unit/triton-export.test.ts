import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { configPbtxt, exportTriton } from '../../src/inference/triton-export.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/avin-tiny-random', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

test('config.pbtxt: ONNX Runtime backend, batch dimension left to max_batch_size, dynamic batching', () => {
  assert.equal(
    configPbtxt('m-visual', { name: 'image', type: 'TYPE_UINT8', dims: [112, 112, 3] }, { name: 'features', type: 'TYPE_FP32', dims: [32, 7, 7] }, 8, 5000),
    [
      'name: "m-visual"',
      'backend: "onnxruntime"',
      'max_batch_size: 8',
      'input [\n  {\n    name: "image"\n    data_type: TYPE_UINT8\n    dims: [ 112, 112, 3 ]\n  }\n]',
      'output [\n  {\n    name: "features"\n    data_type: TYPE_FP32\n    dims: [ 32, 7, 7 ]\n  }\n]',
      'dynamic_batching {\n  max_queue_delay_microseconds: 5000\n}',
      '',
    ].join('\n'),
  );
});

test('export triton writes one model per graph whose ONNX answers a batch with the shapes its config states', async () => {
  const out = await mkdtemp(join(tmpdir(), 'avloc-triton-'));
  try {
    const names = await exportTriton({ modelDir: FIXTURE, outDir: out, maxBatch: 4 });
    assert.deepEqual(names, ['avin-tiny-random-visual', 'avin-tiny-random-audio']);
    for (const [name, file, feed, want] of [
      ['avin-tiny-random-visual', 'visual.onnx', { image: new ort.Tensor('uint8', new Uint8Array(2 * 112 * 112 * 3), [2, 112, 112, 3]) }, ['features', [2, 32, 7, 7]]],
      ['avin-tiny-random-audio', 'audio.onnx', { waveform: new ort.Tensor('float32', new Float32Array(2 * 16000), [2, 16000]) }, ['embedding', [2, 32]]],
    ] as const) {
      const dir = join(out, name);
      const config = await readFile(join(dir, 'config.pbtxt'), 'utf8');
      assert.match(config, new RegExp(`name: "${name}"`));
      assert.match(config, /max_batch_size: 4/);
      assert.deepEqual(await readFile(join(dir, '1', 'model.onnx')), await readFile(join(FIXTURE, file)), 'the graph is copied as it is');
      const session = await ort.InferenceSession.create(join(dir, '1', 'model.onnx'));
      const [outName, dims] = want;
      assert.deepEqual(session.inputNames, Object.keys(feed));
      assert.deepEqual(session.outputNames, [outName]);
      const result = await session.run(feed);
      assert.deepEqual(result[outName]!.dims, dims, 'batch 2 in, batch 2 out, the rest as config.pbtxt says');
      for (const d of dims.slice(1)) assert.match(config, new RegExp(`\\b${d}\\b`));
      await session.release();
    }
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, 'export', 'triton', '--model', FIXTURE, '--out', join(out, 'cli')]);
    assert.match(stdout, /wrote .*avin-tiny-random-visual, .*avin-tiny-random-audio/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
