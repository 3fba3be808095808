// Runs a TF.js graph model in @tensorflow/tfjs (pure-JS CPU backend) and writes the value of the
// named nodes: the reference that avloc_toolkit.tfjs_graph's PyTorch conversion is checked against.
//
//   node models/scripts/tfjs_run.mjs MODEL.json INPUT.f32 H W OUT_PREFIX NODE [NODE ...]
//
// INPUT.f32: float32 NHWC [1, H, W, 3], exactly the graph's input. Writes OUT_PREFIX.<i>.f32
// (float32, the node's NHWC layout) and OUT_PREFIX.json (shapes).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';

const [modelPath, inputPath, h, w, outPrefix, ...names] = process.argv.slice(2);
if (!names.length) {
  console.error('usage: tfjs_run.mjs MODEL.json INPUT.f32 H W OUT_PREFIX NODE [NODE ...]');
  process.exit(2);
}
await tf.setBackend('cpu');
const spec = JSON.parse(readFileSync(modelPath, 'utf8'));
const shards = spec.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelPath), p))));
const data = Buffer.concat(shards);
const handler = {
  load: async () => ({
    modelTopology: spec.modelTopology,
    format: spec.format,
    generatedBy: spec.generatedBy,
    convertedBy: spec.convertedBy,
    signature: spec.signature,
    weightSpecs: spec.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }),
};
const model = await loadGraphModel(handler);
const raw = readFileSync(inputPath);
const input = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), [1, Number(h), Number(w), 3]);
const outs = [model.execute(input, names)].flat();
const shapes = [];
for (const [i, t] of outs.entries()) {
  writeFileSync(`${outPrefix}.${i}.f32`, Buffer.from((await t.data()).buffer));
  shapes.push(t.shape);
}
writeFileSync(`${outPrefix}.json`, JSON.stringify({ names, shapes }));
