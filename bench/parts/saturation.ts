import type { MediaFile } from '../harness/media-file.ts';
import { GroupMeter, type GroupUsage } from '../harness/proc-stats.ts';
import { Publisher, stopAll } from '../harness/publisher.ts';
import type { PublisherFfmpeg } from '../harness/publisher-ffmpeg.ts';
import { ServiceProcess, type LoopDelay, type ServiceOptions } from '../harness/service.ts';
import { Subscriber } from '../harness/subscriber.ts';
import { nowMs } from '../../src/pipeline/types.ts';
import { batchHistogram } from './fair-ceiling.ts';
import { windowStats, type WindowStats } from './window-stats.ts';

/**
 * N synthetic cameras publishing into a fresh service, one subscriber receiving everything. Each
 * step gets its own service process so one step's leftovers (queues, heap) cannot colour the next.
 */
export interface StepResult {
  readonly streams: number;
  readonly stats: WindowStats;
  readonly service: GroupUsage;
  readonly decoders: GroupUsage;
  /** The bench's own publishers (ffmpeg -re -c copy), measured separately from the service. */
  readonly publishers: GroupUsage;
  /** How long the service's event loop was blocked (the RTMP relay and decoder pipes wait on it). */
  readonly loopDelay: LoopDelay | null;
  readonly load: string;
  /** Batch size → heatmaps received from batches of that size in the window. */
  readonly batchSizes: Readonly<Record<string, number>>;
  readonly notes: string[];
}

export interface StepContext {
  /** The publishers' ffmpeg (the service finds its own). */
  readonly ffmpeg: PublisherFfmpeg;
  readonly media: MediaFile;
  /** The service's `model` config section (dir, device, threads). */
  readonly model: ServiceOptions['model'];
  /** Other config sections for the service (e.g. preview). */
  readonly overrides?: Record<string, unknown>;
  readonly log: (line: string) => void;
  readonly loadAverage: () => string;
}

export interface LiveRig {
  readonly service: ServiceProcess;
  readonly subscriber: Subscriber;
  readonly publishers: Publisher[];
  readonly serviceMeter: GroupMeter;
  readonly decoderMeter: GroupMeter;
  readonly publisherMeter: GroupMeter;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts a service, a subscriber and N publishers, and waits until every stream delivers heatmaps. */
export async function startRig(ctx: StepContext, streams: number, tag: string, notes: string[]): Promise<LiveRig> {
  const service = await ServiceProcess.start({ model: ctx.model, ...(ctx.overrides ? { overrides: ctx.overrides } : {}) });
  const subscriber = await Subscriber.connect(service.wsUrl);
  const publishers: Publisher[] = [];
  for (let i = 0; i < streams; i++) {
    const id = `${tag}-${i}`;
    publishers.push(new Publisher(ctx.ffmpeg, ctx.media.path, service.rtmpUrl(id), id));
  }
  const rig: LiveRig = {
    service,
    subscriber,
    publishers,
    serviceMeter: new GroupMeter(() => [service.pid]),
    decoderMeter: new GroupMeter(() => service.ffmpegPids()),
    publisherMeter: new GroupMeter(() => publishers.map((p) => p.pid ?? -1)),
    async close() {
      subscriber.close();
      await stopAll(publishers);
      await service.close();
    },
  };
  // Warm-up: every stream must have delivered, then a little more so decoders and batches settle.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const seen = new Set(subscriber.received.map((r) => r.streamId));
    if (seen.size >= streams) break;
    if (Date.now() > deadline) {
      notes.push(`${tag}: only ${seen.size}/${streams} streams delivered within 30 s of publishing`);
      break;
    }
    const dead = publishers.filter((p) => p.pid === undefined);
    if (dead.length > 0) notes.push(`${tag}: ${dead.length} publisher(s) failed to spawn`);
    await sleep(250);
  }
  await sleep(2000);
  return rig;
}

export async function runSaturationStep(ctx: StepContext, streams: number, seconds: number): Promise<StepResult> {
  const notes: string[] = [];
  const rig = await startRig(ctx, streams, `sat${streams}`, notes);
  try {
    rig.serviceMeter.start();
    rig.decoderMeter.start();
    rig.publisherMeter.start();
    rig.service.resetLoopDelay();
    const from = nowMs();
    const end = from + seconds * 1000;
    while (nowMs() < end) {
      await sleep(1000);
      rig.serviceMeter.sample();
      rig.decoderMeter.sample();
      rig.publisherMeter.sample();
    }
    const to = nowMs();
    const loopDelay = await rig.service.readLoopDelay();
    const service = rig.serviceMeter.read();
    const decoders = rig.decoderMeter.read();
    const publishers = rig.publisherMeter.read();
    const origins = new Map(rig.publishers.map((p) => [p.streamId, p.sendOriginMs]));
    const msgs = rig.subscriber.between(from, to);
    const stats = windowStats(msgs, (to - from) / 1000, origins);
    const batchSizes: Record<string, number> = {};
    for (const [b, n] of batchHistogram(msgs.map((m) => m.batchSize))) batchSizes[String(b)] = n;
    for (const p of rig.publishers) if (p.errors) notes.push(`publisher ${p.streamId}: ${p.errors}`);
    if (rig.subscriber.protocolErrors > 0) notes.push(`${rig.subscriber.protocolErrors} undecodable messages`);
    return { streams, stats, service, decoders, publishers, loopDelay, load: ctx.loadAverage(), batchSizes, notes };
  } finally {
    await rig.close();
    for (const line of rig.service.logTail(5)) if (/warn|error/i.test(line)) notes.push(`service: ${line}`);
  }
}
