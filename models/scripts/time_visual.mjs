#!/usr/bin/env node
// Times a bundle's visual graph at batch 1 in onnxruntime-node (the runtime the service uses).
//
//   node models/scripts/time_visual.mjs <bundleDir> [--runs 200] [--threads 2]
//
// Prints JSON: median / p90 / mean ms per frame after 20 warm-up runs. Also times audio.onnx once
// per run set, since its cadence is separate (docs/MODEL_CONTRACT.md).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "..", "package.json"));
const ort = require("onnxruntime-node");

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const bundle = args[0];
const runs = opt("--runs", 200), threads = opt("--threads", 2);
const card = JSON.parse(readFileSync(join(bundle, "model.json"), "utf8"));
const so = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };

async function time(file, feeds, n) {
  const s = await ort.InferenceSession.create(resolve(bundle, file), so);
  for (let i = 0; i < 20; i++) await s.run(feeds);
  const ms = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await s.run(feeds); ms.push(performance.now() - t); }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(n / 2)], p90: ms[Math.floor(n * 0.9)], mean: ms.reduce((a, b) => a + b, 0) / n, runs: n };
}

const { height: H, width: W } = card.visual;
const img = new Uint8Array(H * W * 3);
for (let i = 0; i < img.length; i++) img[i] = (i * 2654435761) >>> 24;   // deterministic non-constant frame
const T = Math.round(card.audio.sampleRate * card.audio.windowSeconds);
const wav = new Float32Array(T).map((_, i) => 0.1 * Math.sin(i / 7));
const visual = await time(card.visual.file, { [card.visual.input]: new ort.Tensor("uint8", img, [1, H, W, 3]) }, runs);
const audio = await time(card.audio.file, { [card.audio.input]: new ort.Tensor("float32", wav, [1, T]) }, Math.max(20, runs / 10));
console.log(JSON.stringify({ bundle, threads, batch: 1, visual_ms: visual, audio_ms: audio,
  ort: require("onnxruntime-node/package.json").version }, null, 1));
