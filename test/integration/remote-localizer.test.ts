import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openLocalizer } from '../../src/app/open-localizer.ts';
import { loadConfig } from '../../src/config/load.ts';
import { AvlocError } from '../../src/errors.ts';
import { BatchRunner } from '../../src/inference/batch-runner.ts';
import { OrtLocalizer } from '../../src/inference/localizer.ts';
import { RemoteLocalizer, type RemoteLocalizerOptions } from '../../src/inference/remote/remote-localizer.ts';
import { registerRemoteMetrics } from '../../src/inference/remote/remote-metrics.ts';
import { tritonModels } from '../../src/inference/triton-export.ts';
import { createLogger } from '../../src/log.ts';
import type { FrameJob } from '../../src/pipeline/types.ts';
import { MetricsRegistry } from '../../src/publish/metrics.ts';
import { startKserveV2Server, type KserveV2Server, type KserveV2ServerOptions } from '../support/kserve-v2-server.ts';

/** The toolkit's tiny random bundle (112×112, 7×7 grid, 32 channels, 16 kHz, 1 s). */
const FIXTURE = process.env.AVLOC_TEST_BUNDLE ?? fileURLToPath(new URL('../fixtures/avin-tiny-random/', import.meta.url));
/** Generous for start-up and normal requests on a loaded machine; the slow-server test waits 30× longer. */
const DEADLINE_MS = 2000;

let local: OrtLocalizer;
const servers: KserveV2Server[] = [];
const remotes: RemoteLocalizer[] = [];

before(async () => {
  local = await OrtLocalizer.open(FIXTURE, { intraOpNumThreads: 1 });
});
after(async () => {
  await Promise.allSettled(remotes.map((r) => r.close()));
  await Promise.allSettled(servers.map((s) => s.close()));
  await local?.close();
});

async function server(opts: Partial<KserveV2ServerOptions> = {}): Promise<KserveV2Server> {
  const s = await startKserveV2Server({ bundleDir: FIXTURE, ...opts });
  servers.push(s);
  return s;
}
async function remote(s: KserveV2Server, opts: Partial<RemoteLocalizerOptions> = {}): Promise<RemoteLocalizer> {
  const r = await RemoteLocalizer.open(local.card, { url: s.url, timeoutMs: DEADLINE_MS, maxInFlight: 4, ...opts });
  remotes.push(r);
  return r;
}

function frame(seed: number): Uint8Array {
  const { width, height } = local.card.visual;
  const f = new Uint8Array(width * height * 3);
  let s = seed * 2654435761;
  for (let i = 0; i < f.length; i++) f[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return f;
}
function audioWindow(seed: number): Float32Array {
  const T = Math.round(local.card.audio.windowSeconds * local.card.audio.sampleRate);
  return Float32Array.from({ length: T }, (_, i) => Math.sin(i * 0.013 * (seed + 1)) * 0.4 + ((i * seed) % 7) * 1e-3);
}
function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const infers = (s: KserveV2Server, model?: string) => s.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/infer') && (!model || r.path.includes(model)));
const isCode = (code: string, message?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AvlocError, `not an AvlocError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (message) assert.match(e.message, message);
  return true;
};

test('remote results equal the local ONNX Runtime results for the same batches', async () => {
  const s = await server();
  const r = await remote(s);
  assert.deepEqual(
    s.requests.map((q) => `${q.method} ${q.path}`),
    ['GET /v2/health/ready', 'GET /v2/models/avin-tiny-random-visual', 'GET /v2/models/avin-tiny-random-visual/ready', 'GET /v2/models/avin-tiny-random-audio', 'GET /v2/models/avin-tiny-random-audio/ready'],
    'start-up: server health, then metadata and readiness of each model',
  );
  const frames = [frame(1), frame(2), frame(3)];
  const windows = [audioWindow(1), audioWindow(2), audioWindow(3)];
  const [lv, rv, la, ra] = [await local.embedVisual(frames), await r.embedVisual(frames), await local.embedAudio(windows), await r.embedAudio(windows)];
  assert.equal(rv.length, 3);
  assert.equal(ra.length, 3);
  const { channels, grid } = local.card.visual;
  for (let i = 0; i < 3; i++) {
    assert.equal(rv[i]!.length, channels * grid[0] * grid[1]);
    assert.equal(ra[i]!.length, local.card.audio.channels);
    // Same graphs, same thread count, values carried exactly both ways: equal, not just close.
    assert.equal(maxDiff(rv[i]!, lv[i]!), 0, `visual item ${i}`);
    assert.equal(maxDiff(ra[i]!, la[i]!), 0, `audio item ${i}`);
  }
  assert.ok(maxDiff(rv[0]!, rv[1]!) > 1e-3, 'different frames give different features (the comparison is not trivial)');
  assert.ok(maxDiff(ra[0]!, ra[1]!) > 1e-3, 'different windows give different embeddings');
  const [one] = await r.embedVisual([frames[2]!]);
  assert.ok(maxDiff(one!, lv[2]!) <= 1e-5, 'a batch of one gives the same as its place in a batch of three');
  assert.deepEqual(await r.embedAudio([]), [], 'an empty batch sends nothing');
  assert.equal(infers(s).length, 3);

  // Through the batch runner, as the service runs it: the same heatmaps.
  const jobs = [1, 2].map((k): FrameJob => ({
    window: {
      frame: { streamId: `s${k}`, index: 0, ptsMs: 0, captureAtMs: 0, decodedAtMs: 0, width: local.card.visual.width, height: local.card.visual.height, rgb: frame(k) },
      audio: audioWindow(k),
      hasAudio: true,
    },
    enqueuedAtMs: 0,
    refreshAudio: true,
  }));
  const viaLocal = await new BatchRunner(local).run(jobs);
  const viaRemote = await new BatchRunner(r).run(jobs);
  for (let i = 0; i < jobs.length; i++) assert.equal(maxDiff(viaRemote[i]!.heatmap, viaLocal[i]!.heatmap), 0, `heatmap ${i}`);
  assert.deepEqual(r.stats, { ok: 5, timedOut: 0, refused: 0, failed: 0, closed: 0, retried: 0, inFlight: 0 });
});

test('request bodies are Open Inference Protocol JSON tensors: names, datatypes, shapes, flat row-major data', async () => {
  const s = await server();
  const r = await remote(s);
  const frames = [frame(4), frame(5)];
  const windows = [audioWindow(4), audioWindow(5)];
  await r.embedVisual(frames);
  await r.embedAudio(windows);
  const { visual, audio } = local.card;
  const T = Math.round(audio.windowSeconds * audio.sampleRate);
  const [v] = infers(s, '-visual');
  const [a] = infers(s, '-audio');
  for (const q of [v!, a!]) {
    assert.equal(q.status, 200, 'the server accepted it');
    assert.match(q.contentType ?? '', /^application\/json/);
    assert.equal(q.authorization, undefined, 'no token configured, none sent');
  }
  const vb = v!.body as { id: unknown; inputs: { name: string; datatype: string; shape: number[]; data: number[] }[]; outputs: { name: string }[] };
  assert.equal(typeof vb.id, 'string');
  assert.equal(vb.inputs.length, 1);
  assert.equal(vb.inputs[0]!.name, visual.input);
  assert.equal(vb.inputs[0]!.datatype, 'UINT8');
  assert.deepEqual(vb.inputs[0]!.shape, [2, visual.height, visual.width, 3]);
  assert.equal(vb.inputs[0]!.data.length, 2 * visual.height * visual.width * 3);
  const sent = Uint8Array.from(vb.inputs[0]!.data);
  assert.deepEqual(sent.subarray(0, frames[0]!.length), frames[0]);
  assert.deepEqual(sent.subarray(frames[0]!.length), frames[1]);
  assert.deepEqual(vb.outputs, [{ name: visual.output }]);

  const ab = a!.body as typeof vb;
  assert.equal(ab.inputs[0]!.name, audio.input);
  assert.equal(ab.inputs[0]!.datatype, 'FP32');
  assert.deepEqual(ab.inputs[0]!.shape, [2, T]);
  assert.equal(ab.inputs[0]!.data.length, 2 * T);
  const samples = Float32Array.from(ab.inputs[0]!.data);
  assert.deepEqual(samples.subarray(0, T), windows[0], 'float32 samples arrive exactly');
  assert.deepEqual(samples.subarray(T), windows[1]);
  assert.deepEqual(ab.outputs, [{ name: audio.output }]);
});

test('the test server itself refuses requests that break the protocol (400 with {"error"})', async () => {
  const s = await server();
  const post = async (body: unknown) => {
    const res = await fetch(`${s.url}/v2/models/avin-tiny-random-audio/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as { error?: string } };
  };
  const ok = { inputs: [{ name: 'waveform', shape: [1, 16000], datatype: 'FP32', data: new Array(16000).fill(0.1) }] };
  assert.equal((await post(ok)).status, 200);
  const cases: [unknown, RegExp][] = [
    [{ inputs: [{ ...ok.inputs[0], datatype: 'FP64' }] }, /datatype FP64, the model needs FP32/],
    [{ inputs: [{ ...ok.inputs[0], datatype: 'FLOAT' }] }, /unknown datatype/],
    [{ inputs: [{ ...ok.inputs[0], data: new Array(15999).fill(0) }] }, /holds 16000 elements, "data" has 15999/],
    [{ inputs: [{ ...ok.inputs[0], shape: [1, 8000] }] }, /does not match the model's/],
    [{ inputs: [{ ...ok.inputs[0], name: 'audio' }] }, /unexpected input "audio"/],
    [{ inputs: [] }, /non-empty array/],
    [{ ...ok, outputs: [{ name: 'nope' }] }, /unknown output "nope"/],
  ];
  for (const [body, why] of cases) {
    const { status, json } = await post(body);
    assert.equal(status, 400, JSON.stringify(json));
    assert.match(json.error ?? '', why);
  }
  const missing = await fetch(`${s.url}/v2/models/nope`);
  assert.equal(missing.status, 400);
  assert.match(((await missing.json()) as { error: string }).error, /unknown model "nope"/);
});

test('metadata that does not match the card is a clear error naming the field, expected and got', async () => {
  const wrongType = await server({ editMetadata: (m, meta) => void (m.endsWith('-visual') && (meta.inputs[0]!.datatype = 'FP32')) });
  await assert.rejects(remote(wrongType), isCode('MODEL_INVALID', /remote model "avin-tiny-random-visual" does not match model\.json: input "image" datatype \(model\.json visual input\): expected UINT8, got FP32/));

  const wrongChannels = await server({ editMetadata: (m, meta) => void (m.endsWith('-audio') && (meta.outputs[0]!.shape = [-1, 64])) });
  await assert.rejects(remote(wrongChannels), isCode('MODEL_INVALID', /output "embedding" shape\[1\] \(model\.json audio\.channels\): expected 32, got 64/));

  const wrongSize = await server({ editMetadata: (m, meta) => void (m.endsWith('-visual') && (meta.inputs[0]!.shape = [-1, 128, 128, 3])) });
  await assert.rejects(remote(wrongSize), isCode('MODEL_INVALID', /input "image" shape\[1\] \(model\.json visual\.height\): expected 112, got 128; input "image" shape\[2\] \(model\.json visual\.width\): expected 112, got 128/));

  const fixedBatch = await server({ editMetadata: (m, meta) => void (m.endsWith('-audio') && (meta.inputs[0]!.shape = [8, 16000])) });
  await assert.rejects(remote(fixedBatch), isCode('MODEL_INVALID', /input "waveform" shape\[0\] \(batch\): expected -1 \(a variable batch\), got 8/));

  const renamed = await server({ editMetadata: (m, meta) => void (m.endsWith('-audio') && (meta.inputs[0]!.name = 'audio_in')) });
  await assert.rejects(remote(renamed), isCode('MODEL_INVALID', /has no input "waveform" \(model\.json audio\.input\); its inputs are \["audio_in"\]/));

  const fine = await server();
  await assert.rejects(remote(fine, { visualModel: 'other-visual' }), isCode('INFERENCE_REMOTE_FAILED', /remote model "other-visual".*HTTP 400: unknown model "other-visual".*model\.remote\.visualModel/));
  const notReady = await server({ notReady: true });
  await assert.rejects(remote(notReady), isCode('INFERENCE_REMOTE_FAILED', /is not ready: GET \/v2\/health\/ready answered HTTP 400/));
});

test('a slow server: the request misses its deadline, is aborted, dropped and counted, never retried', async () => {
  const s = await server({ inferDelayMs: 30 * DEADLINE_MS });
  const r = await remote(s);
  await assert.rejects(r.embedAudio([audioWindow(1)]), isCode('INFERENCE_TIMEOUT', /within 2000 ms \(model\.remote\.timeoutMs\); aborted and dropped/));
  assert.deepEqual(r.stats, { ok: 0, timedOut: 1, refused: 0, failed: 0, closed: 0, retried: 0, inFlight: 0 });
  assert.equal(infers(s).length, 1, 'sent once: a timeout is not retried');

  // Through the batch runner the whole batch fails, which the scheduler counts as dropped frames.
  const job: FrameJob = {
    window: { frame: { streamId: 'a', index: 0, ptsMs: 0, captureAtMs: 0, decodedAtMs: 0, width: 112, height: 112, rgb: frame(1) }, audio: audioWindow(1), hasAudio: true },
    enqueuedAtMs: 0,
    refreshAudio: true,
  };
  await assert.rejects(new BatchRunner(r).run([job]), isCode('INFERENCE_TIMEOUT'));
  assert.equal(r.stats.timedOut, 2);

  const registry = new MetricsRegistry();
  registerRemoteMetrics(registry, r.stats);
  const text = registry.render();
  assert.match(text, /^avloc_remote_requests_total\{outcome="timeout"\} 2$/m);
  assert.match(text, /^avloc_remote_requests_total\{outcome="ok"\} 0$/m);
  assert.match(text, /^avloc_remote_in_flight 0$/m);
});

test('in-flight bound: past model.remote.maxInFlight a batch is refused at once and counted, not queued', async () => {
  const s = await server({ holdInfers: true });
  const r = await remote(s, { maxInFlight: 2, timeoutMs: 60_000 });
  const first = r.embedAudio([audioWindow(1)]);
  const second = r.embedVisual([frame(1)]);
  await s.infersReceived(2);
  assert.equal(r.stats.inFlight, 2);
  await assert.rejects(r.embedAudio([audioWindow(2)]), isCode('AT_CAPACITY', /2 requests already in flight \(model\.remote\.maxInFlight = 2\); this audio batch of 1 is dropped/));
  await assert.rejects(r.embedVisual([frame(2)]), isCode('AT_CAPACITY'));
  assert.equal(r.stats.refused, 2);
  assert.equal(infers(s).length, 2, 'refused batches never reach the server');
  s.release();
  assert.equal((await first).length, 1);
  assert.equal((await second).length, 1);
  assert.equal(s.maxConcurrentInfers, 2);
  assert.equal(r.stats.inFlight, 0);
  const later = r.embedAudio([audioWindow(3)]);
  await s.infersReceived(3);
  s.release();
  assert.equal((await later).length, 1, 'room again once the first ones are answered');
  assert.deepEqual(r.stats, { ok: 3, timedOut: 0, refused: 2, failed: 0, closed: 0, retried: 0, inFlight: 0 });
});

test('retries: once after a refused connection, not after other failures', async () => {
  const s = await server();
  const refused = () => new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  const reset = () => new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
  let plan: (() => Error)[] = [];
  const flaky: typeof fetch = (input, init) => {
    const next = String(input).endsWith('/infer') ? plan.shift() : undefined;
    return next ? Promise.reject(next()) : fetch(input, init);
  };
  const r = await remote(s, { fetch: flaky });

  plan = [refused];
  assert.equal((await r.embedAudio([audioWindow(1)])).length, 1, 'the second attempt succeeds');
  assert.equal(r.stats.retried, 1);
  assert.equal(infers(s).length, 1);

  plan = [refused, refused];
  await assert.rejects(r.embedAudio([audioWindow(1)]), isCode('INFERENCE_REMOTE_FAILED', /ECONNREFUSED.*after one retry/));
  assert.equal(r.stats.retried, 2, 'one retry, not more');

  plan = [reset];
  await assert.rejects(r.embedAudio([audioWindow(1)]), isCode('INFERENCE_REMOTE_FAILED', /ECONNRESET/));
  assert.equal(r.stats.retried, 2, 'a reset may have reached the server: not retried');
  assert.deepEqual({ ok: r.stats.ok, failed: r.stats.failed }, { ok: 1, failed: 2 });

  // A server that is not there at all fails start-up with the reason.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
  await assert.rejects(RemoteLocalizer.open(local.card, { url: `http://127.0.0.1:${port}`, timeoutMs: DEADLINE_MS, maxInFlight: 1 }), isCode('INFERENCE_REMOTE_FAILED', /ECONNREFUSED/));
});

test('a response over the byte budget for its batch is refused before parsing', async () => {
  const s = await server({ padInferBytes: 2_000_000 });
  const r = await remote(s);
  await assert.rejects(r.embedAudio([audioWindow(1)]), isCode('INFERENCE_REMOTE_FAILED', /over the \d+-byte budget/));
  assert.equal(r.stats.failed, 1);
});

test('a bearer token goes with every request; without it the server refuses', async () => {
  const s = await server({ token: 'tok-123' });
  const r = await remote(s, { token: 'tok-123' });
  await r.embedAudio([audioWindow(1)]);
  assert.ok(s.requests.length >= 6);
  assert.ok(s.requests.every((q) => q.authorization === 'Bearer tok-123' && q.status === 200));
  await assert.rejects(remote(s), isCode('INFERENCE_REMOTE_FAILED', /HTTP 401: missing or wrong bearer token/));
});

test('close() aborts requests in flight with CLOSED and refuses later calls', async () => {
  const s = await server({ holdInfers: true });
  const r = await remote(s, { timeoutMs: 60_000 });
  const pending = r.embedAudio([audioWindow(1)]);
  await s.infersReceived(1);
  await r.close();
  await assert.rejects(pending, isCode('CLOSED'));
  await assert.rejects(r.embedVisual([frame(1)]), isCode('CLOSED'));
  assert.equal(r.stats.closed, 1);
  assert.equal(r.stats.inFlight, 0);
  await r.close();
  s.release();
});

test('openLocalizer with model.remote: the card from the bundle, default model names as `avloc export triton` writes them', async () => {
  const s = await server();
  const config = loadConfig({ env: {}, flags: { model: { dir: FIXTURE, remote: { url: s.url } } } });
  assert.equal(config.model.remote?.timeoutMs, 1000);
  assert.equal(config.model.remote?.maxInFlight, 4);
  const loc = await openLocalizer(config, createLogger('test', 'silent'));
  try {
    assert.ok(loc instanceof RemoteLocalizer);
    assert.equal(loc.device, 'remote');
    assert.deepEqual(loc.models, { visual: tritonModels(local.card)[0]!.name, audio: tritonModels(local.card)[1]!.name });
    assert.equal((await loc.embedAudio([audioWindow(1)])).length, 1);
  } finally {
    await loc.close();
  }
});
