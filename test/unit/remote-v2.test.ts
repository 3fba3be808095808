import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { AvlocError } from '../../src/errors.ts';
import { modelCardSchema } from '../../src/inference/model-card.ts';
import { readBoundedText } from '../../src/inference/remote/bounded-body.ts';
import { checkModelMetadata } from '../../src/inference/remote/check-metadata.ts';
import { remoteGraphSpecs, responseByteBudget } from '../../src/inference/remote/graph-specs.ts';
import { inferRequestBody, readInferOutput } from '../../src/inference/remote/tensor-json.ts';
import { connectionRefused } from '../../src/inference/remote/v2-http.ts';

const card = modelCardSchema.parse(JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/avin-tiny-random/model.json', import.meta.url)), 'utf8')));
const specs = remoteGraphSpecs(card);

const configError = (re: RegExp) => (e: unknown) => e instanceof AvlocError && e.code === 'CONFIG_INVALID' && re.test(e.message);

test('config: model.remote is off by default; its defaults and bounds are in the schema', () => {
  assert.equal(loadConfig({ env: {} }).model.remote, undefined);
  const c = loadConfig({ env: { AVLOC_REMOTE_URL: 'http://triton:8000', AVLOC_REMOTE_TOKEN: '1234' } });
  assert.deepEqual(c.model.remote, { url: 'http://triton:8000', timeoutMs: 1000, maxInFlight: 4, token: '1234' });
  assert.throws(() => loadConfig({ env: {}, flags: { model: { remote: { url: 'http://t', maxInFlight: 65 } } } }), configError(/model\.remote\.maxInFlight/));
  assert.throws(() => loadConfig({ env: {}, flags: { model: { remote: { url: 'http://t', timeoutMs: 0 } } } }), configError(/model\.remote\.timeoutMs/));
  assert.throws(() => loadConfig({ env: {}, flags: { model: { remote: { url: 'ftp://t' } } } }), configError(/model\.remote\.url: must be an http/));
  assert.throws(() => loadConfig({ env: {}, flags: { model: { remote: { url: 'not a url' } } } }), configError(/model\.remote\.url/));
  assert.throws(() => loadConfig({ env: {}, flags: { model: { remote: { url: 'http://u:p@t' } } } }), configError(/must not carry credentials/));
  assert.throws(() => loadConfig({ env: {}, flags: { model: { remote: { url: 'http://t', retries: 3 } } } }), configError(/retries|Unrecognized/));
});

test('graph specs follow the card, and the default model names are the exported ones', () => {
  assert.equal(specs.visual.model, 'avin-tiny-random-visual');
  assert.equal(specs.audio.model, 'avin-tiny-random-audio');
  assert.deepEqual(specs.visual.input, { ...specs.visual.input, name: 'image', datatype: 'UINT8', itemDims: [112, 112, 3] });
  assert.deepEqual(specs.visual.output.itemDims, [32, 7, 7]);
  assert.deepEqual([specs.audio.input.datatype, specs.audio.input.itemDims], ['FP32', [16000]]);
  assert.equal(remoteGraphSpecs(card, { audioModel: 'a' }).audio.model, 'a');
  assert.ok(responseByteBudget(specs.visual, 8) > 8 * 32 * 49 * 24, 'room for every value at its longest');
  assert.ok(responseByteBudget(specs.visual, 8) < 2 * responseByteBudget(specs.visual, 4) + 1, 'grows with the batch, not more');
});

const meta = () => ({
  name: 'avin-tiny-random-audio',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'waveform', datatype: 'FP32', shape: [-1, 16000] }],
  outputs: [{ name: 'embedding', datatype: 'FP32', shape: [-1, 32] }],
});

test('metadata check: a match passes; every mismatch names tensor, field, expected and got', () => {
  checkModelMetadata(meta(), specs.audio);
  const m1 = meta();
  m1.outputs[0]!.shape = [-1, -1];
  checkModelMetadata(m1, specs.audio); // a variable non-batch dim accepts the card's size
  const bad = (edit: (m: ReturnType<typeof meta>) => void, re: RegExp) => {
    const m = meta();
    edit(m);
    assert.throws(() => checkModelMetadata(m, specs.audio), (e: unknown) => e instanceof AvlocError && e.code === 'MODEL_INVALID' && re.test(e.message));
  };
  bad((m) => (m.inputs[0]!.shape = [-1]), /input "waveform" shape: expected rank 2 \[-1,16000\], got rank 1 \[-1\]/);
  bad((m) => (m.inputs[0]!.shape = [-1, 8000]), /shape\[1\] \(model\.json audio\.windowSeconds × audio\.sampleRate\): expected 16000, got 8000/);
  bad((m) => (m.outputs[0]!.datatype = 'FP16'), /output "embedding" datatype \(model\.json audio output\): expected FP32, got FP16/);
  bad((m) => m.inputs.push({ name: 'extra', datatype: 'FP32', shape: [-1] }), /has 2 inputs \["waveform","extra"\]/);
  bad((m) => (m.outputs = []), /has no output "embedding" \(model\.json audio\.output\)/);
  assert.throws(() => checkModelMetadata({ name: 'x' }, specs.audio), (e: unknown) => e instanceof AvlocError && e.code === 'INFERENCE_REMOTE_FAILED' && /inputs/.test(e.message));
});

test('request body: JSON tensors whose float32 data reads back exactly; non-finite input refused', () => {
  const w = Float32Array.from({ length: 16000 * 2 }, (_, i) => Math.fround(Math.sin(i) / 3));
  const body = JSON.parse(inferRequestBody(specs.audio, w, 2, '7'));
  assert.deepEqual(Object.keys(body), ['id', 'inputs', 'outputs']);
  assert.equal(body.id, '7');
  assert.deepEqual({ ...body.inputs[0], data: undefined }, { name: 'waveform', shape: [2, 16000], datatype: 'FP32', data: undefined });
  assert.deepEqual(Float32Array.from(body.inputs[0].data), w);
  assert.deepEqual(body.outputs, [{ name: 'embedding' }]);
  const v = JSON.parse(inferRequestBody(specs.visual, Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => i % 256), 1, '8'));
  assert.equal(v.inputs[0].datatype, 'UINT8');
  assert.equal(v.inputs[0].data[300], 300 % 256);
  const nan = new Float32Array(16000);
  nan[5] = Number.NaN;
  assert.throws(() => inferRequestBody(specs.audio, nan, 1, '9'), /element 5 is NaN/);
});

test('response: flat or nested data, checked against the card; null reads as NaN', () => {
  const flat = Array.from({ length: 64 }, (_, i) => i / 64);
  const ok = (data: unknown[], extra: Record<string, unknown> = {}) => ({ id: '1', outputs: [{ name: 'embedding', datatype: 'FP32', shape: [2, 32], data }], ...extra });
  assert.deepEqual(readInferOutput(ok(flat), specs.audio, 2, '1'), Float32Array.from(flat));
  assert.deepEqual(readInferOutput(ok([flat.slice(0, 32), flat.slice(32)]), specs.audio, 2, '1'), Float32Array.from(flat));
  assert.ok(Number.isNaN(readInferOutput(ok([null, ...flat.slice(1)]), specs.audio, 2, '1')[0]));
  const bad = (json: unknown, re: RegExp) =>
    assert.throws(() => readInferOutput(json, specs.audio, 2, '1'), (e: unknown) => e instanceof AvlocError && e.code === 'INFERENCE_REMOTE_FAILED' && re.test(e.message));
  bad(ok(flat.slice(1)), /has 63 elements; shape \[2,32\] needs 64/);
  bad(ok([...flat, 1]), /more than 64 elements/);
  bad(ok(flat, { id: '2' }), /for request "2", not "1"/);
  bad({ outputs: [{ name: 'embedding', datatype: 'FP32', shape: [2, 16], data: flat }] }, /shape: expected \[2,32\], got \[2,16\]/);
  bad({ outputs: [{ name: 'embedding', datatype: 'FP64', shape: [2, 32], data: flat }] }, /datatype: expected FP32, got FP64/);
  bad({ outputs: [{ name: 'other', datatype: 'FP32', shape: [2, 32], data: flat }] }, /no output "embedding".*\["other"\]/);
  bad(ok(['x', ...flat.slice(1)]), /not a number/);
  bad({ error: 'boom' }, /not an inference response/);
});

test('bounded body: over the budget is refused, by Content-Length or while reading', async () => {
  const big = 'x'.repeat(5000);
  await assert.rejects(readBoundedText(new Response(big), 4000, 'POST u'), /over the 4000-byte budget/);
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(new Uint8Array(1000).fill(32)); // endless: must be cut off
    },
  });
  await assert.rejects(readBoundedText(new Response(stream), 4000, 'POST u'), /more than 4000 bytes/);
  assert.equal(await readBoundedText(new Response('{"a":1}'), 4000, 'POST u'), '{"a":1}');
});

test('only a refused connection counts as "not sent"', () => {
  const err = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
  assert.equal(connectionRefused(err('ECONNREFUSED')), true);
  assert.equal(connectionRefused(err('ECONNRESET')), false);
  assert.equal(connectionRefused(new TypeError('fetch failed', { cause: new AggregateError([Object.assign(new Error(), { code: 'ECONNREFUSED' }), Object.assign(new Error(), { code: 'ECONNREFUSED' })]) })), true);
  assert.equal(connectionRefused(new TypeError('fetch failed', { cause: new AggregateError([Object.assign(new Error(), { code: 'ECONNREFUSED' }), Object.assign(new Error(), { code: 'ETIMEDOUT' })]) })), false);
  assert.equal(connectionRefused(new Error('x')), false);
});
