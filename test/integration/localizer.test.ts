import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWith as copyBundleWith } from '../support/bundle-copy.ts';
import { BatchRunner } from '../../src/inference/batch-runner.ts';
import { OrtLocalizer } from '../../src/inference/localizer.ts';
import type { FrameJob } from '../../src/pipeline/types.ts';

/** The toolkit's tiny random bundle (112×112, 7×7 grid, 32 channels, 16 kHz, 1 s). */
const FIXTURE = process.env.AVLOC_TEST_BUNDLE ?? fileURLToPath(new URL('../fixtures/avin-tiny-random/', import.meta.url));
const ONE_THREAD = { intraOpNumThreads: 1 } as const;

let tmp: string;
let loc: OrtLocalizer;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'avloc-localizer-'));
  loc = await OrtLocalizer.open(FIXTURE, ONE_THREAD);
});
after(async () => {
  await loc?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const bundleWith = (edit: (card: Record<string, any>) => void): Promise<string> => copyBundleWith(FIXTURE, tmp, edit);

function randomFrame(seed: number): Uint8Array {
  const { width, height } = loc.card.visual;
  const f = new Uint8Array(width * height * 3);
  let s = seed * 2654435761;
  for (let i = 0; i < f.length; i++) f[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return f;
}
function randomWindow(seed: number): Float32Array {
  const T = Math.round(loc.card.audio.windowSeconds * loc.card.audio.sampleRate);
  return Float32Array.from({ length: T }, (_, i) => Math.sin(i * 0.01 * (seed + 1)) * 0.5);
}
const norm = (v: Float32Array) => Math.hypot(...v);
function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('localizer outputs have the card shapes and are L2-normalised', async () => {
  const { channels, grid } = loc.card.visual;
  const [feat] = await loc.embedVisual([randomFrame(1)]);
  const [emb] = await loc.embedAudio([randomWindow(1)]);
  assert.equal(feat!.length, channels * grid[0] * grid[1]);
  assert.equal(emb!.length, loc.card.audio.channels);
  assert.ok(Math.abs(norm(emb!) - 1) < 1e-3, `embedding norm ${norm(emb!)}`);
  const cell = Float32Array.from({ length: channels }, (_, c) => feat![c * grid[0] * grid[1]]!);
  assert.ok(Math.abs(norm(cell) - 1) < 1e-3, `feature norm at cell 0: ${norm(cell)}`);
});

test('localizer: a batch of 3 gives the same per-item results as 3 batches of 1 (within 1e-5)', async () => {
  const frames = [randomFrame(1), randomFrame(2), randomFrame(3)];
  const windows = [randomWindow(1), randomWindow(2), randomWindow(3)];
  const vBatch = await loc.embedVisual(frames);
  const aBatch = await loc.embedAudio(windows);
  for (let i = 0; i < 3; i++) {
    const [v] = await loc.embedVisual([frames[i]!]);
    const [a] = await loc.embedAudio([windows[i]!]);
    assert.ok(maxDiff(vBatch[i]!, v!) < 1e-5, `visual item ${i}`);
    assert.ok(maxDiff(aBatch[i]!, a!) < 1e-5, `audio item ${i}`);
  }
  assert.ok(maxDiff(vBatch[0]!, vBatch[1]!) > 0, 'different frames give different features');
});

test('localizer rejects a frame of the wrong size without touching the model', async () => {
  await assert.rejects(loc.embedVisual([new Uint8Array(10)]), { code: 'INTERNAL', message: /frame 0 has 10 bytes/ });
});

test('batch runner with the real model: heatmaps on the card grid, cosine values in [-1, 1]', async () => {
  const runner = new BatchRunner(loc);
  const { width, height, grid } = loc.card.visual;
  const jobs: FrameJob[] = [1, 2].map((i) => ({
    window: {
      frame: { streamId: `s${i}`, index: 0, ptsMs: 1000, decodedAtMs: 0, captureAtMs: 0, width, height, rgb: randomFrame(i) },
      audio: randomWindow(i),
      hasAudio: true,
    },
    refreshAudio: true,
    enqueuedAtMs: 0,
  }));
  const results = await runner.run(jobs);
  assert.equal(results.length, 2);
  for (const r of results) {
    assert.equal(r.gridH, grid[0]);
    assert.equal(r.gridW, grid[1]);
    assert.equal(r.heatmap.length, grid[0] * grid[1]);
    assert.ok(r.heatmap.every((v) => v >= -1.0001 && v <= 1.0001));
    assert.equal(r.peak.value, Math.max(...r.heatmap));
    assert.equal(r.batchSize, 2);
  }
  runner.close();
});

test('bundle: a card whose channels disagree with visual.onnx is rejected naming the file and the field', async () => {
  const dir = await bundleWith((c) => {
    c.visual.channels = 64;
    c.audio.channels = 64;
  });
  await assert.rejects(OrtLocalizer.open(dir, ONE_THREAD), {
    code: 'MODEL_INVALID',
    message: /^visual\.onnx: output "features" has \d+ channels but model\.json visual\.channels = 64/,
  });
});

test('bundle: wrong grid, wrong input name and wrong window length are each rejected by file and field', async () => {
  const grid = await bundleWith((c) => (c.visual.grid = [8, 8]));
  await assert.rejects(OrtLocalizer.open(grid, ONE_THREAD), { code: 'MODEL_INVALID', message: /^visual\.onnx: .*model\.json visual\.grid\[0\] = 8/ });
  const input = await bundleWith((c) => (c.visual.input = 'img'));
  await assert.rejects(OrtLocalizer.open(input, ONE_THREAD), { code: 'MODEL_INVALID', message: /^visual\.onnx: has no input "img" \(model\.json visual\.input\)/ });
  const win = await bundleWith((c) => {
    c.audio.windowSeconds = 0.5;
    delete c.audio.samples;
  });
  await assert.rejects(OrtLocalizer.open(win, ONE_THREAD), { code: 'MODEL_INVALID', message: /^audio\.onnx: .*audio\.windowSeconds × audio\.sampleRate/ });
});

test('bundle: a corrupt card is rejected naming model.json and the field', async () => {
  const missing = await bundleWith((c) => delete c.visual.channels);
  await assert.rejects(OrtLocalizer.open(missing, ONE_THREAD), { code: 'MODEL_INVALID', message: /^model\.json: visual\.channels: Required/ });
  const notJson = await bundleWith(() => {});
  await writeFile(join(notJson, 'model.json'), '{ "format": ');
  await assert.rejects(OrtLocalizer.open(notJson, ONE_THREAD), { code: 'MODEL_INVALID', message: /^model\.json: not valid JSON/ });
  await assert.rejects(OrtLocalizer.open(join(tmp, 'nope'), ONE_THREAD), { code: 'MODEL_INVALID', message: /bundle folder not found/ });
});

test('bundle: a corrupt or missing graph file is a clear MODEL_INVALID, not a crash', async () => {
  const corrupt = await bundleWith(() => {});
  await writeFile(join(corrupt, 'visual.onnx'), 'this is not an onnx file');
  await assert.rejects(OrtLocalizer.open(corrupt, ONE_THREAD), { code: 'MODEL_INVALID', message: /^visual\.onnx: ONNX Runtime cannot load it/ });
  const gone = await bundleWith(() => {});
  await rm(join(gone, 'audio.onnx'));
  await assert.rejects(OrtLocalizer.open(gone, ONE_THREAD), { code: 'MODEL_INVALID', message: /^audio\.onnx: not found .*\(model\.json audio\.file\)/ });
});

test('device cuda without the CUDA binaries fails with MODEL_DEVICE_UNAVAILABLE and says how to install them', async () => {
  await assert.rejects(OrtLocalizer.open(FIXTURE, { ...ONE_THREAD, device: 'cuda' }), (err: any) => {
    assert.equal(err.code, 'MODEL_DEVICE_UNAVAILABLE');
    assert.match(err.message, /--onnxruntime-node-install=cuda12/);
    assert.match(err.message, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    return true;
  });
});

test('localizer close is idempotent and rejects calls in flight and after it with CLOSED', async () => {
  const own = await OrtLocalizer.open(FIXTURE, ONE_THREAD);
  const inFlight = own.embedVisual([randomFrame(1)]);
  const queued = own.embedAudio([randomWindow(1)]);
  const closing = own.close();
  assert.equal(own.close(), closing);
  await assert.rejects(inFlight, { code: 'CLOSED' });
  await assert.rejects(queued, { code: 'CLOSED' });
  await closing;
  await assert.rejects(own.embedAudio([randomWindow(1)]), { code: 'CLOSED' });
});
