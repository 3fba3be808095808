#!/usr/bin/env node
// CPU latency of a bundle's graphs in onnxruntime-node (the service's runtime).
//
//   node models/scripts/time_bundle.mjs <bundleDir> [--batches 1,8] [--runs 10] [--warmup 2] [--threads N] [--json out.json]
//
// For each batch size: median / mean / min wall time of visual.onnx and audio.onnx runs on
// deterministic inputs (uint8 image, float32 waveform), after warm-up runs, and the process CPU time
// (user + system, all threads) per run, which a busy machine inflates less. CPU execution provider.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const ort = createRequire(join(here, "..", "..", "package.json"))("onnxruntime-node");

const argv = process.argv.slice(2);
const flag = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const bundleDir = argv[0];
if (!bundleDir || bundleDir.startsWith("--")) {
  console.error("usage: time_bundle.mjs <bundleDir> [--batches 1,8] [--runs 10] [--warmup 2] [--threads N] [--json out.json]");
  process.exit(2);
}
const batches = flag("--batches", "1,8").split(",").map(Number);
const runs = Number(flag("--runs", "10"));
const warmup = Number(flag("--warmup", "2"));
const threads = Number(flag("--threads", String(cpus().length)));
const jsonOut = flag("--json", null);

const card = JSON.parse(readFileSync(join(bundleDir, "model.json"), "utf8"));
const H = card.visual.height, W = card.visual.width;
const T = Math.round(card.audio.sampleRate * card.audio.windowSeconds);
const so = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
const vis = await ort.InferenceSession.create(resolve(bundleDir, card.visual.file), so);
const aud = await ort.InferenceSession.create(resolve(bundleDir, card.audio.file), so);

async function timeIt(fn) {
  for (let i = 0; i < warmup; i++) await fn();
  const ms = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) { const t = performance.now(); await fn(); ms.push(performance.now() - t); }
  const cpu = process.cpuUsage(cpu0);
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], mean: ms.reduce((a, b) => a + b, 0) / ms.length, min: ms[0],
           cpuMs: (cpu.user + cpu.system) / 1000 / runs };
}

const rows = [];
for (const B of batches) {
  const img = new Uint8Array(B * H * W * 3);
  for (let i = 0; i < img.length; i++) img[i] = (i * 2654435761) >>> 24;
  const wav = new Float32Array(B * T);
  for (let i = 0; i < wav.length; i++) wav[i] = 0.5 * Math.sin(i * 0.0628) + 0.01 * Math.sin(i * 1.7);
  const it = new ort.Tensor("uint8", img, [B, H, W, 3]);
  const at = new ort.Tensor("float32", wav, [B, T]);
  const v = await timeIt(() => vis.run({ [card.visual.input]: it }));
  const a = await timeIt(() => aud.run({ [card.audio.input]: at }));
  rows.push({ graph: "visual", batch: B, ...v, perItem: v.median / B });
  rows.push({ graph: "audio", batch: B, ...a, perItem: a.median / B });
}

console.log(`bundle ${card.name}: image ${H}x${W}, audio ${T} samples @ ${card.audio.sampleRate} Hz; ` +
  `onnxruntime-node CPU, ${threads} intra-op threads, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}); runs ${runs}, warmup ${warmup}`);
console.log("graph   batch  median ms   mean ms    min ms  ms/item  cpu ms/run");
for (const r of rows) {
  console.log(`${r.graph.padEnd(7)} ${String(r.batch).padStart(5)} ${r.median.toFixed(1).padStart(10)} ${r.mean.toFixed(1).padStart(9)} ` +
    `${r.min.toFixed(1).padStart(9)} ${r.perItem.toFixed(1).padStart(8)} ${r.cpuMs.toFixed(1).padStart(11)}`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ bundle: card.name, threads, cores: cpus().length, runs, warmup, rows }, null, 2));
