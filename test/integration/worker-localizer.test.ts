import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWith as copyBundleWith } from '../support/bundle-copy.ts';
import type { AvlocError } from '../../src/errors.ts';
import { OrtLocalizer } from '../../src/inference/localizer.ts';
import type { Localizer } from '../../src/inference/localizer.ts';
import { windowSamples } from '../../src/inference/model-card.ts';
import { WorkerLocalizer } from '../../src/inference/worker-localizer.ts';

/** The toolkit's tiny random bundle (112×112, 7×7 grid, 32 channels, 16 kHz, 1 s). */
const FIXTURE = process.env.AVLOC_TEST_BUNDLE ?? fileURLToPath(new URL('../fixtures/avin-tiny-random/', import.meta.url));
const ONE_THREAD = { intraOpNumThreads: 1 } as const;

let tmp: string;
let ort: OrtLocalizer;
let worker: WorkerLocalizer;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'avloc-worker-localizer-'));
  ort = await OrtLocalizer.open(FIXTURE, ONE_THREAD);
  worker = await WorkerLocalizer.open(FIXTURE, ONE_THREAD);
});
after(async () => {
  await Promise.all([ort?.close(), worker?.close()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const bundleWith = (edit: (card: Record<string, any>) => void): Promise<string> => copyBundleWith(FIXTURE, tmp, edit);

/** Deterministic pseudo-random bytes (LCG), so both localizers see the same inputs. */
function frame(seed: number): Uint8Array {
  const { width, height } = ort.card.visual;
  const f = new Uint8Array(width * height * 3);
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < f.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    f[i] = s >>> 24;
  }
  return f;
}

function audioWindow(seed: number): Float32Array {
  const w = new Float32Array(windowSamples(ort.card));
  for (let i = 0; i < w.length; i++) w[i] = 0.5 * Math.sin((i * (seed + 1) * 2 * Math.PI * 220) / ort.card.audio.sampleRate);
  return w;
}

function assertClose(a: readonly Float32Array[], b: readonly Float32Array[]): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.equal(x.length, y.length);
    for (let j = 0; j < x.length; j++) assert.ok(Math.abs(x[j]! - y[j]!) <= 1e-6, `item ${i} value ${j}: ${x[j]} vs ${y[j]}`);
  });
}

test('worker localizer: same card, device and outputs as OrtLocalizer for batches 1 and 3', async () => {
  assert.deepEqual(worker.card, ort.card);
  assert.equal(worker.device, 'cpu');
  assert.deepEqual(worker.warnings, ort.warnings);
  for (const n of [1, 3]) {
    const frames = Array.from({ length: n }, (_, i) => frame(i + n));
    const windows = Array.from({ length: n }, (_, i) => audioWindow(i + n));
    const [wv, wa] = await Promise.all([worker.embedVisual(frames), worker.embedAudio(windows)]);
    assertClose(wv, await ort.embedVisual(frames));
    assertClose(wa, await ort.embedAudio(windows));
    // The callers' buffers are copied, not transferred away.
    assert.equal(frames[0]!.length, ort.card.visual.width * ort.card.visual.height * 3);
    assert.equal(windows[0]!.length, windowSamples(ort.card));
  }
  assert.deepEqual(await worker.embedVisual([]), []);
  await assert.rejects(worker.embedVisual([new Uint8Array(5)]), { code: 'INTERNAL', message: /frame 0 has 5 bytes/ });
});

test('worker localizer: load errors surface from open() with the same codes and messages', async () => {
  const missing = await bundleWith((c) => delete c.visual.channels);
  await assert.rejects(WorkerLocalizer.open(missing, ONE_THREAD), { code: 'MODEL_INVALID', message: /^model\.json: visual\.channels: Required/ });
  const grid = await bundleWith((c) => (c.visual.grid = [8, 8]));
  await assert.rejects(WorkerLocalizer.open(grid, ONE_THREAD), { code: 'MODEL_INVALID', message: /^visual\.onnx: .*model\.json visual\.grid\[0\] = 8/ });
  await assert.rejects(WorkerLocalizer.open(FIXTURE, { ...ONE_THREAD, device: 'cuda' }), (err: AvlocError) => {
    assert.equal(err.code, 'MODEL_DEVICE_UNAVAILABLE');
    assert.match(err.message, /--onnxruntime-node-install=cuda12/);
    return true;
  });
});

test('worker localizer: close is idempotent and rejects calls in flight and after it with CLOSED', async () => {
  const own = await WorkerLocalizer.open(FIXTURE, ONE_THREAD);
  const inFlight = own.embedVisual([frame(1)]);
  const audio = own.embedAudio([audioWindow(1)]);
  const closing = own.close();
  assert.equal(own.close(), closing);
  await assert.rejects(inFlight, { code: 'CLOSED' });
  await assert.rejects(audio, { code: 'CLOSED' });
  await closing;
  await assert.rejects(own.embedAudio([audioWindow(1)]), { code: 'CLOSED' });
  await own.close();
});

test('worker localizer: a crashed worker rejects calls in flight and later ones, and is reported once', async () => {
  const exits: AvlocError[] = [];
  const own = await WorkerLocalizer.open(FIXTURE, { ...ONE_THREAD, onExit: (e) => exits.push(e) });
  // The crash is posted first, so the worker exits before it can answer the call behind it.
  own.crashForTest();
  const inFlight = own.embedVisual([frame(1)]);
  await assert.rejects(inFlight, { code: 'INTERNAL', message: /inference worker exited \(code 70\)/ });
  await assert.rejects(own.embedAudio([audioWindow(1)]), { code: 'INTERNAL', message: /inference worker exited/ });
  assert.equal(exits.length, 1);
  await own.close(); // still resolves
});

/** Max gap between 1 ms ticks while `work` runs, and how long it took. */
async function loopGap(work: () => Promise<unknown>): Promise<{ maxGapMs: number; workMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  await work();
  const workMs = performance.now() - t0;
  clearInterval(timer);
  return { maxGapMs, workMs };
}

test('worker localizer: the main event loop stays responsive while inference runs', async (t) => {
  // Batch 128 of the fixture takes tens of ms per call on one thread: with ORT on the main
  // thread the loop stalls for about a whole call; with the worker it does not.
  const frames = Array.from({ length: 128 }, (_, i) => frame(i));
  const run = (loc: Localizer) => async () => {
    for (let i = 0; i < 3; i++) await loc.embedVisual(frames);
  };
  await run(worker)(); // warm both
  await run(ort)();
  const onMain = await loopGap(run(ort));
  const inWorker = await loopGap(run(worker));
  const perCallMs = onMain.workMs / 3;
  const msg = `ORT on main: max gap ${onMain.maxGapMs.toFixed(1)} ms (${perCallMs.toFixed(1)} ms/call); worker: max gap ${inWorker.maxGapMs.toFixed(1)} ms (${(inWorker.workMs / 3).toFixed(1)} ms/call)`;
  t.diagnostic(msg);
  assert.ok(onMain.maxGapMs >= 0.5 * perCallMs, `expected ORT on the main thread to block the loop: ${msg}`);
  assert.ok(inWorker.maxGapMs < 0.5 * onMain.maxGapMs, msg);
});
