// Parity of the exported AVIN graphs in onnxruntime-node (the service's runtime) against PyTorch.
// The Python toolkit exports a small random-weight variant (BatchNorm statistics perturbed) and writes
// reference inputs/outputs as raw little-endian files; this test runs the same inputs through the
// bundle and bounds the differences: max |Δ| <= 1e-4 on features and embeddings, same heatmap argmax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ort from 'onnxruntime-node';

const repo = resolve(import.meta.dirname, '..', '..');
const TOL = 1e-4;

interface RefMeta {
  n: number;
  image: number[];
  waveform: number[];
  features: number[];
  embedding: number[];
  heatmap: number[];
  bundle: string;
}

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

function argmax(a: ArrayLike<number>, start: number, len: number): number {
  let best = start;
  for (let i = start; i < start + len; i++) if ((a[i] ?? -Infinity) > (a[best] ?? -Infinity)) best = i;
  return best - start;
}

// the last case exports a graph with feature centering (cells minus 1.5x their frame's mean
// cell before the normalisation, AVINConfig.feature_centering), as the shipped bundle has; the
// last one has the pretrained COCO CenterNet trunk (TF.js graph converted to PyTorch) as its encoder
for (const [preset, centering] of [['tiny', 0], ['small', 0], ['small', 1.5], ['centernet-classes', 0]] as const) {
  test(`exported AVIN (${preset}, centering ${centering}) matches PyTorch in onnxruntime-node`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `avloc-parity-${preset}-`));
    try {
      const py = spawnSync('/usr/bin/python3', ['-m', 'avloc_toolkit.parity', '--out', dir, '--preset', preset, '--n', '3',
        '--centering', String(centering)],
        { cwd: join(repo, 'models'), encoding: 'utf8', timeout: 120_000 });
      assert.equal(py.status, 0, `python export failed:\n${py.stderr}`);
      const meta = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8')) as RefMeta;
      const bundle = join(dir, meta.bundle);
      const card = JSON.parse(readFileSync(join(bundle, 'model.json'), 'utf8')) as {
        visual: { file: string; input: string; output: string };
        audio: { file: string; input: string; output: string };
        architecture: { config: { feature_centering: number } };
      };
      assert.equal(card.architecture.config.feature_centering, centering);
      const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, interOpNumThreads: 1 };
      const vis = await ort.InferenceSession.create(join(bundle, card.visual.file), opts);
      const aud = await ort.InferenceSession.create(join(bundle, card.audio.file), opts);

      const imgBuf = readFileSync(join(dir, 'image.u8'));
      const image = new Uint8Array(imgBuf.buffer, imgBuf.byteOffset, imgBuf.byteLength);
      const wave = f32(join(dir, 'waveform.f32'));
      const [n, C, h, w] = meta.features as [number, number, number, number];
      const refF = f32(join(dir, 'ref_features.f32'));
      const refE = f32(join(dir, 'ref_embedding.f32'));
      const refH = f32(join(dir, 'ref_heatmap.f32'));

      // whole batch (n) and one item at a time (batch 1): the batch dimension is dynamic
      const feats = new Float32Array(refF.length);
      const embs = new Float32Array(refE.length);
      const full = await vis.run({ [card.visual.input]: new ort.Tensor('uint8', image, meta.image) });
      const fullE = await aud.run({ [card.audio.input]: new ort.Tensor('float32', wave, meta.waveform) });
      const fT = full[card.visual.output];
      const eT = fullE[card.audio.output];
      assert.ok(fT && eT);
      assert.deepEqual(fT.dims, [n, C, h, w]);
      assert.deepEqual(eT.dims, [n, C]);
      feats.set(fT.data as Float32Array);
      embs.set(eT.data as Float32Array);
      const imgItem = meta.image.slice(1).reduce((a, b) => a * b, 1);
      const T = meta.waveform[1] ?? 0;
      for (let i = 0; i < n; i++) {
        const one = await vis.run({ [card.visual.input]: new ort.Tensor('uint8', image.slice(i * imgItem, (i + 1) * imgItem), [1, ...meta.image.slice(1)]) });
        const oneE = await aud.run({ [card.audio.input]: new ort.Tensor('float32', wave.slice(i * T, (i + 1) * T), [1, T]) });
        const d1 = maxAbsDiff(one[card.visual.output]!.data as Float32Array, refF.subarray(i * C * h * w, (i + 1) * C * h * w));
        const d2 = maxAbsDiff(oneE[card.audio.output]!.data as Float32Array, refE.subarray(i * C, (i + 1) * C));
        assert.ok(d1 <= TOL && d2 <= TOL, `batch-1 item ${i}: features ${d1}, embedding ${d2}`);
      }

      const heat = new Float32Array(n * h * w);
      for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) {
        let acc = 0;
        for (let c = 0; c < C; c++) acc += (feats[(b * C + c) * h * w + p] ?? 0) * (embs[b * C + c] ?? 0);
        heat[b * h * w + p] = acc;
      }
      const dF = maxAbsDiff(feats, refF);
      const dE = maxAbsDiff(embs, refE);
      const dH = maxAbsDiff(heat, refH);
      console.log(`parity ${preset} centering ${centering}: n=${n} C=${C} grid=${h}x${w} max|Δ| features ${dF.toExponential(2)}, ` +
        `embedding ${dE.toExponential(2)}, heatmap ${dH.toExponential(2)}`);
      assert.ok(dF <= TOL, `features max abs diff ${dF}`);
      assert.ok(dE <= TOL, `embedding max abs diff ${dE}`);
      for (let b = 0; b < n; b++) {
        assert.equal(argmax(heat, b * h * w, h * w), argmax(refH, b * h * w, h * w), `heatmap argmax of item ${b}`);
      }
      await vis.release();
      await aud.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
