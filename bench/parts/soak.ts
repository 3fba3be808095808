import { Publisher } from '../harness/publisher.ts';
import { SlowClient } from '../harness/slow-client.ts';
import { Subscriber } from '../harness/subscriber.ts';
import { readProc } from '../harness/proc-stats.ts';
import { nowMs } from '../../src/pipeline/types.ts';
import { summarize, type Summary } from '../stats.ts';
import { startRig, type StepContext } from './saturation.ts';
import { windowStats, type WindowStats } from './window-stats.ts';

/**
 * Streams for a long stretch with one subscriber that never reads, and churn: every
 * `reconnectS` seconds a fifth publisher connects and leaves again halfway through the period (a
 * stream's whole life: claim, decoder, session, teardown) and a WebSocket client connects,
 * subscribes and goes. Latency and memory are sampled every second; the first and last windows are
 * compared, because a leak or a queue that creeps shows up as a difference between the ends, not
 * in an average. Latency figures are the steady streams' only.
 */
export interface SoakSample {
  /** Seconds since the soak began. */
  readonly t: number;
  readonly heatmaps: number;
  readonly decodedToRecvP50: number;
  readonly decodedToRecvP99: number;
  /** Capture estimate → received: grows when the decoders fall behind real time. */
  readonly captureToRecvP50: number;
  /** Publisher send → received (end to end; see window-stats.ts). */
  readonly publisherToRecvP50: number;
  readonly serviceRssMiB: number;
  readonly decodersRssMiB: number;
}

export interface SoakEnd {
  readonly label: string;
  readonly stats: WindowStats;
  readonly serviceRssMiB: Summary;
}

export interface SoakResult {
  readonly seconds: number;
  readonly streams: number;
  readonly windowS: number;
  readonly samples: readonly SoakSample[];
  readonly first: SoakEnd;
  readonly last: SoakEnd;
  readonly whole: WindowStats;
  readonly slowClientReceived: number;
  /** Seconds between churn rounds, and how many rounds ran (publisher and client each). */
  readonly reconnectS: number;
  readonly reconnects: number;
  readonly load: string;
  readonly notes: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

export async function runSoak(ctx: StepContext, streams: number, seconds: number, windowS: number, reconnectS: number): Promise<SoakResult> {
  const notes: string[] = [];
  const rig = await startRig(ctx, streams, 'soak', notes);
  const slow = await SlowClient.connect(rig.service.wsUrl);
  const steady = (m: { streamId: string }) => m.streamId.startsWith('soak-');
  let reconnects = 0;
  let churn: Promise<void> = Promise.resolve();
  const churnRound = async (k: number): Promise<void> => {
    const pub = new Publisher(ctx.ffmpeg, ctx.media.path, rig.service.rtmpUrl(`churn-${k}`), `churn-${k}`);
    const client = await Subscriber.connect(rig.service.wsUrl).catch((err: unknown) => {
      notes.push(`churn client ${k}: ${String(err)}`);
      return null;
    });
    await sleep((reconnectS * 1000) / 2);
    client?.close();
    await pub.stop();
    reconnects++;
  };
  try {
    const samples: SoakSample[] = [];
    // Read the origin at use: it is refined as the publisher's progress reports come in.
    const originOf = (id: string) => rig.publishers.find((p) => p.streamId === id)?.sendOriginMs ?? Number.NaN;
    const start = nowMs();
    const end = start + seconds * 1000;
    let prev = start;
    let nextLog = start + 15_000;
    // The first round starts at once, so the first window holds churn as the last does: the ends
    // differ by what crept, not by what the workload was.
    let nextChurn = start;
    while (nowMs() < end) {
      await sleep(1000);
      const now = nowMs();
      // A round starts only after the previous one ended and if it can end before the soak does.
      if (now >= nextChurn && now + (reconnectS * 1000) / 2 < end) {
        const k = Math.round((now - start) / 1000);
        churn = churn.then(() => churnRound(k));
        nextChurn += reconnectS * 1000;
      }
      const msgs = rig.subscriber.between(prev, now).filter(steady);
      const lat = summarize(msgs.map((m) => m.recvAtMs - m.decodedAtMs));
      const svc = readProc(rig.service.pid);
      let dec = 0;
      for (const pid of rig.service.ffmpegPids()) dec += readProc(pid)?.rssBytes ?? 0;
      samples.push({
        t: (now - start) / 1000,
        heatmaps: msgs.length,
        decodedToRecvP50: lat.p50,
        decodedToRecvP99: lat.p99,
        captureToRecvP50: summarize(msgs.map((m) => m.recvAtMs - m.captureAtMs)).p50,
        publisherToRecvP50: summarize(msgs.map((m) => m.recvAtMs - (originOf(m.streamId) + m.ptsMs))).p50,
        serviceRssMiB: (svc?.rssBytes ?? 0) / MiB,
        decodersRssMiB: dec / MiB,
      });
      prev = now;
      if (now >= nextLog) {
        ctx.log(`  soak ${Math.round((now - start) / 1000)}/${seconds} s: ${msgs.length} heatmaps/s, p99 ${lat.p99.toFixed(0)} ms, RSS ${((svc?.rssBytes ?? 0) / MiB).toFixed(0)} MiB`);
        nextLog += 15_000;
      }
    }
    await churn;
    const stop = nowMs();
    const origins = new Map(rig.publishers.map((p) => [p.streamId, p.sendOriginMs]));
    const endOf = (label: string, from: number, to: number): SoakEnd => ({
      label,
      stats: windowStats(rig.subscriber.between(from, to).filter(steady), (to - from) / 1000, origins),
      serviceRssMiB: summarize(samples.filter((s) => start + s.t * 1000 > from && start + s.t * 1000 <= to).map((s) => s.serviceRssMiB)),
    });
    const w = windowS * 1000;
    const result: SoakResult = {
      seconds,
      streams,
      windowS,
      samples,
      first: endOf(`first ${windowS} s`, start, start + w),
      last: endOf(`last ${windowS} s`, stop - w, stop),
      whole: windowStats(rig.subscriber.between(start, stop).filter(steady), (stop - start) / 1000, origins),
      slowClientReceived: slow.received,
      reconnectS,
      reconnects,
      load: ctx.loadAverage(),
      notes,
    };
    // The subscriber's array is the one thing in the bench that grows with soak length; drop it now.
    rig.subscriber.clear();
    return result;
  } finally {
    slow.close();
    await rig.close();
  }
}
