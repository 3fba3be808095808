import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BatchRunner } from '../../src/inference/batch-runner.ts';
import { OrtLocalizer } from '../../src/inference/localizer.ts';
import { windowSamples, type ModelCard } from '../../src/inference/model-card.ts';
import { RemoteLocalizer } from '../../src/inference/remote/remote-localizer.ts';
import type { FrameJob } from '../../src/pipeline/types.ts';
import { summarize, type Summary } from '../stats.ts';

/**
 * What running the graphs on a KServe v2 server costs over running them here: one bundle, the
 * same batches through the service's BatchRunner (audio embeddings, then the visual batch, then
 * the heatmaps), once on an in-process OrtLocalizer and once on a RemoteLocalizer against the
 * in-repo v2 server in a child process (bench/harness/kserve-host.ts). Both sides use one intra-op
 * and one inter-op thread, as that server's sessions do, so the difference is the transport:
 * JSON tensors written, sent over loopback HTTP, parsed on both ends. Local and remote batches
 * alternate (and alternate which goes first), so both meet the same machine.
 */
export interface InferenceRow {
  readonly batch: number;
  readonly batches: number;
  readonly localMs: Summary;
  readonly remoteMs: Summary;
  /** remote p50 / local p50, and likewise for p99. */
  readonly ratioP50: number;
  readonly ratioP99: number;
  /** Remote batches that failed (timeout, refusal); not in remoteMs. */
  readonly remoteFailures: number;
}

export interface InferenceResult {
  readonly sessions: string;
  readonly rows: readonly InferenceRow[];
}

const WARMUP_BATCHES = 10;

function jobsFor(card: ModelCard, batch: number): FrameJob[] {
  const { width, height } = card.visual;
  const samples = windowSamples(card);
  return Array.from({ length: batch }, (_, k): FrameJob => {
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = ((i + k * 7919) * 2654435761) >>> 24;
    const audio = new Float32Array(samples);
    for (let i = 0; i < audio.length; i++) audio[i] = 0.3 * Math.sin(i * (0.05 + 0.001 * k));
    return {
      window: { frame: { streamId: `s${k}`, index: 0, ptsMs: 0, captureAtMs: 0, decodedAtMs: 0, width, height, rgb }, audio, hasAudio: true },
      refreshAudio: true,
      enqueuedAtMs: 0,
    };
  });
}

function startServer(bundleDir: string): Promise<{ child: ChildProcess; url: string }> {
  const entry = fileURLToPath(new URL('../harness/kserve-host.ts', import.meta.url));
  const child = fork(entry, [bundleDir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the KServe v2 server did not start within 60 s')), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the KServe v2 server exited (code ${code}) before it was ready`));
    });
    child.on('message', (msg: { type?: string; url?: string }) => {
      if (msg.type !== 'ready' || !msg.url) return;
      clearTimeout(timer);
      resolve({ child, url: msg.url });
    });
  });
}

async function timed(run: () => Promise<unknown>): Promise<number | null> {
  const t = performance.now();
  try {
    await run();
    return performance.now() - t;
  } catch {
    return null;
  }
}

export async function measureRemoteInference(bundleDir: string, batchSizes: readonly number[], batches: number, log: (s: string) => void): Promise<InferenceResult> {
  const local = await OrtLocalizer.open(bundleDir, { intraOpNumThreads: 1, interOpNumThreads: 1, maxBatchSize: Math.max(...batchSizes) });
  const server = await startServer(bundleDir);
  let remote: RemoteLocalizer | undefined;
  try {
    remote = await RemoteLocalizer.open(local.card, { url: server.url, timeoutMs: 10_000, maxInFlight: 4 });
    const viaLocal = new BatchRunner(local);
    const viaRemote = new BatchRunner(remote);
    const rows: InferenceRow[] = [];
    for (const batch of batchSizes) {
      const jobs = jobsFor(local.card, batch);
      for (let i = 0; i < WARMUP_BATCHES; i++) {
        await viaLocal.run(jobs);
        await viaRemote.run(jobs);
      }
      const localMs: number[] = [];
      const remoteMs: number[] = [];
      let failures = 0;
      for (let i = 0; i < batches; i++) {
        const order = i % 2 === 0 ? (['local', 'remote'] as const) : (['remote', 'local'] as const);
        for (const which of order) {
          const ms = await timed(() => (which === 'local' ? viaLocal.run(jobs) : viaRemote.run(jobs)));
          if (which === 'local') {
            if (ms === null) throw new Error('a local batch failed');
            localMs.push(ms);
          } else if (ms === null) failures++;
          else remoteMs.push(ms);
        }
      }
      const l = summarize(localMs);
      const r = summarize(remoteMs);
      const row: InferenceRow = { batch, batches, localMs: l, remoteMs: r, ratioP50: r.p50 / l.p50, ratioP99: r.p99 / l.p99, remoteFailures: failures };
      rows.push(row);
      log(`  batch ${batch}: local p50 ${l.p50.toFixed(2)} ms, remote p50 ${r.p50.toFixed(2)} ms (×${row.ratioP50.toFixed(1)}), ${failures} remote failures`);
    }
    return { sessions: 'onnxruntime-node on CPU, intra-op 1, inter-op 1, on both sides; remote: JSON tensors over loopback HTTP', rows };
  } finally {
    await remote?.close();
    await local.close();
    server.child.send({ type: 'close' });
    await new Promise((r) => (server.child.exitCode !== null ? r(null) : server.child.once('exit', r)));
  }
}
