import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { AvlocError } from '../errors.ts';
import { OrtLocalizer } from './localizer.ts';
import { windowSamples } from './model-card.ts';
import { openWithBestThreads, type ThreadChoice } from './thread-choice.ts';
import type { FromWorker, ToWorker, WireError, WorkerInit } from './localizer-worker-protocol.ts';

/**
 * The worker thread behind WorkerLocalizer: owns one OrtLocalizer, so ONNX Runtime's
 * synchronous session.run blocks this thread instead of the service's event loop (which relays
 * RTMP and reads the decoders' pipes). Started through localizer-worker-boot.mjs.
 */
const port = parentPort;
if (!port) throw new Error('localizer-worker.ts must run in a worker thread');

function wire(err: unknown): WireError {
  if (err instanceof AvlocError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

async function embed(localizer: OrtLocalizer, msg: Extract<ToWorker, { type: 'embed' }>): Promise<void> {
  try {
    const { card } = localizer;
    let out: Float32Array[];
    if (msg.graph === 'visual') {
      const n = card.visual.width * card.visual.height * 3;
      out = await localizer.embedVisual(Array.from({ length: msg.count }, (_, i) => new Uint8Array(msg.data, i * n, n)));
    } else {
      const n = windowSamples(card);
      out = await localizer.embedAudio(Array.from({ length: msg.count }, (_, i) => new Float32Array(msg.data, i * n * 4, n)));
    }
    // The outputs are views into ORT's own output buffer, which may not be transferable:
    // copy them into one fresh buffer that is.
    const size = out[0]?.length ?? 0;
    const flat = new Float32Array(size * out.length);
    out.forEach((o, i) => flat.set(o, i * size));
    post({ type: 'result', id: msg.id, count: out.length, data: flat.buffer }, [flat.buffer]);
  } catch (err) {
    post({ type: 'failed', id: msg.id, error: wire(err) });
  }
}

async function main(p: MessagePort): Promise<void> {
  const init = workerData as WorkerInit;
  let localizer: OrtLocalizer;
  let threadChoice: ThreadChoice | null = null;
  try {
    if (init.chooseThreads) {
      ({ localizer, choice: threadChoice } = await openWithBestThreads(init.dir, init.opts));
    } else {
      localizer = await OrtLocalizer.open(init.dir, init.opts);
    }
  } catch (err) {
    post({ type: 'open-failed', error: wire(err) });
    p.close(); // nothing else keeps this thread alive: it exits
    return;
  }
  p.on('message', (msg: ToWorker) => {
    if (msg.type === 'embed') void embed(localizer, msg);
    else if (msg.type === 'crash') process.exit(70);
    else if (msg.type === 'close') {
      // Release the sessions, then let the thread end by itself (the parent terminates it if
      // that takes too long).
      void localizer.close().finally(() => p.close());
    }
  });
  post({ type: 'ready', card: localizer.card, device: localizer.device, warnings: localizer.warnings, threadChoice });
}

void main(port);
