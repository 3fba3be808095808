import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeCardIssues, modelCardSchema, windowSamples } from '../../src/inference/model-card.ts';

const card = () => ({
  format: 'avloc-model/1',
  name: 'x',
  version: '1.0.0',
  method: 'avin',
  visual: { file: 'visual.onnx', input: 'image', output: 'features', height: 112, width: 112, channels: 32, grid: [7, 7] },
  audio: { file: 'audio.onnx', input: 'waveform', output: 'embedding', sampleRate: 16000, windowSeconds: 1, channels: 32 },
  opset: 17,
  training: { data: 'none', epochs: 0, seed: 0, commit: 'abc' },
  metrics: { split: 'none', 'ciou@0.5': 0, auc: 0 },
  license: 'MIT',
});

test('model card regression: extra fields anywhere are kept (the toolkit fixture has metrics.random: true)', () => {
  const c: any = card();
  c.metrics.random = true;
  c.audio.samples = 16000;
  c.architecture = { family: 'AVIN-RN' };
  const parsed = modelCardSchema.parse(c);
  assert.equal((parsed.metrics as any).random, true);
  assert.equal((parsed as any).architecture.family, 'AVIN-RN');
  assert.equal(windowSamples(parsed), 16000);
});

test('model card: a missing or mistyped field is named by its path', () => {
  const c: any = card();
  delete c.visual.channels;
  c.audio.sampleRate = '16k';
  const r = modelCardSchema.safeParse(c);
  assert.equal(r.success, false);
  const text = describeCardIssues(r.error!);
  assert.match(text, /visual\.channels: Required/);
  assert.match(text, /audio\.sampleRate: Expected number, received string/);
});

test('model card: channels must agree, audio.samples must match the window, files stay inside the bundle', () => {
  const mismatch = (edit: (c: any) => void) => {
    const c: any = card();
    edit(c);
    const r = modelCardSchema.safeParse(c);
    assert.equal(r.success, false);
    return describeCardIssues(r.error!);
  };
  assert.match(mismatch((c) => (c.audio.channels = 16)), /audio\.channels: must equal visual\.channels \(32\)/);
  assert.match(mismatch((c) => (c.audio.samples = 8000)), /audio\.samples: must equal .* \(16000\)/);
  assert.match(mismatch((c) => (c.visual.file = '../evil.onnx')), /visual\.file: must be a file name inside the bundle folder/);
  assert.match(mismatch((c) => (c.format = 'avloc-model/2')), /format: Invalid literal value/);
});

test('model card: the optional sounding calibration is parsed, and a malformed one is named', () => {
  const c: any = card();
  c.sounding = { score: 'peak', logistic: { a: 12.5, b: -5 }, auroc: 0.93 };
  const parsed = modelCardSchema.parse(c);
  assert.deepEqual(parsed.sounding?.logistic, { a: 12.5, b: -5 });
  c.sounding.logistic.a = 'steep';
  const r = modelCardSchema.safeParse(c);
  assert.equal(r.success, false);
  assert.match(describeCardIssues(r.error!), /sounding\.logistic\.a: Expected number/);
});
