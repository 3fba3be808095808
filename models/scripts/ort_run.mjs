#!/usr/bin/env node
// Runs a bundle's visual.onnx and audio.onnx in onnxruntime-node on raw inputs and writes raw outputs.
//
//   node models/scripts/ort_run.mjs <bundleDir> <ioDir> [--batch N] [--threads N]
//
// <ioDir>/image.u8      uint8  [N, H, W, 3]  (H, W from model.json)
// <ioDir>/waveform.f32  float32 [N, T]        (T = sampleRate * windowSeconds), little-endian
// writes <ioDir>/features.f32 [N, C, h, w], embedding.f32 [N, C], heatmap.f32 [N, h, w], ort.json
// heatmap[b, y, x] = sum_c features[b, c, y, x] * embedding[b, c]  (docs/MODEL_CONTRACT.md)
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "..", "package.json"));
const ort = require("onnxruntime-node");

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const [bundleDir, ioDir] = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
if (!bundleDir || !ioDir) { console.error("usage: ort_run.mjs <bundleDir> <ioDir> [--batch N] [--threads N]"); process.exit(2); }
const batch = opt("--batch", 8);
const threads = opt("--threads", 2);

const card = JSON.parse(readFileSync(join(bundleDir, "model.json"), "utf8"));
const H = card.visual.height, W = card.visual.width, C = card.visual.channels;
const [gh, gw] = card.visual.grid;
const T = Math.round(card.audio.sampleRate * card.audio.windowSeconds);
const so = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
const vis = await ort.InferenceSession.create(resolve(bundleDir, card.visual.file), so);
const aud = await ort.InferenceSession.create(resolve(bundleDir, card.audio.file), so);

const imgBuf = readFileSync(join(ioDir, "image.u8"));
const wavBuf = readFileSync(join(ioDir, "waveform.f32"));
const img = new Uint8Array(imgBuf.buffer, imgBuf.byteOffset, imgBuf.byteLength);
const wav = new Float32Array(wavBuf.buffer.slice(wavBuf.byteOffset, wavBuf.byteOffset + wavBuf.byteLength));
const N = img.length / (H * W * 3);
if (!Number.isInteger(N) || wav.length !== N * T) throw new Error(`input sizes disagree with model.json: N=${N}, waveform ${wav.length} != ${N}*${T}`);

const feats = new Float32Array(N * C * gh * gw), embs = new Float32Array(N * C), heat = new Float32Array(N * gh * gw);
const t0 = performance.now();
for (let s = 0; s < N; s += batch) {
  const b = Math.min(batch, N - s);
  const vi = new ort.Tensor("uint8", img.subarray(s * H * W * 3, (s + b) * H * W * 3), [b, H, W, 3]);
  const ai = new ort.Tensor("float32", wav.subarray(s * T, (s + b) * T), [b, T]);
  const f = (await vis.run({ [card.visual.input]: vi }))[card.visual.output].data;
  const e = (await aud.run({ [card.audio.input]: ai }))[card.audio.output].data;
  feats.set(f, s * C * gh * gw);
  embs.set(e, s * C);
  for (let k = 0; k < b; k++) for (let p = 0; p < gh * gw; p++) {
    let acc = 0;
    for (let c = 0; c < C; c++) acc += f[(k * C + c) * gh * gw + p] * e[k * C + c];
    heat[(s + k) * gh * gw + p] = acc;
  }
}
const ms = performance.now() - t0;
writeFileSync(join(ioDir, "features.f32"), Buffer.from(feats.buffer));
writeFileSync(join(ioDir, "embedding.f32"), Buffer.from(embs.buffer));
writeFileSync(join(ioDir, "heatmap.f32"), Buffer.from(heat.buffer));
writeFileSync(join(ioDir, "ort.json"), JSON.stringify({ n: N, channels: C, grid: [gh, gw], ms, ort: ort.env?.versions?.common ?? null }));
console.log(`ort_run: ${N} items in ${ms.toFixed(1)} ms`);
