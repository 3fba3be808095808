import type { Config } from '../../src/config/schema.ts';
import { loadConfig } from '../../src/config/load.ts';
import { liveDecoderSettings } from '../../src/app/decoder-settings.ts';
import { describeSessions, openGraphs } from '../harness/graphs.ts';
import type { MediaFile } from '../harness/media-file.ts';
import type { PublisherFfmpeg } from '../harness/publisher-ffmpeg.ts';
import { measureCeiling, type CeilingResult } from './ceiling.ts';
import { runFairCeiling, type FairRunResult } from './fair-run.ts';
import { runSaturationStep, type StepContext, type StepResult } from './saturation.ts';

/**
 * One regime of the bench: a model measured alone (ceiling), then N live streams through a fresh
 * service (saturation), then the fair ceiling for the same N (decode-only and model-only). The
 * bench runs it for the default model and for the full-size AVIN-RN, whose frame costs more than a
 * frame period on a small machine, so both the decode-bound and the model-bound case are measured.
 */
export interface RegimeModel {
  readonly dir: string;
  readonly name: string;
  readonly why: string;
}

export interface RegimeResult {
  readonly model: RegimeModel;
  readonly sessions: string;
  ceiling?: CeilingResult;
  saturation?: StepResult[];
  fair?: FairRunResult;
  readonly notes: string[];
}

export interface RegimeOptions {
  readonly label: string;
  readonly model: Omit<RegimeModel, 'name'>;
  /** Flags the service gets for `model` (dir, device, threads, worker). */
  readonly modelFlags: StepContext['model'];
  readonly parts: readonly string[];
  readonly streams: readonly number[];
  readonly batches: readonly number[];
  readonly durationS: number;
  readonly ceilingS: number;
  readonly decodeOnlyS: number;
  readonly fps: number;
  readonly media: MediaFile;
  readonly publisher: PublisherFfmpeg;
  readonly serviceFfmpeg: string;
  readonly overrides?: Record<string, unknown>;
  readonly log: (line: string) => void;
  readonly loadAverage: () => string;
  /** Printed after each part (the Markdown section of what was just measured). */
  readonly print: (r: RegimeResult, part: 'ceiling' | 'saturation' | 'fair') => void;
}

export async function runRegime(o: RegimeOptions): Promise<RegimeResult> {
  const config: Config = loadConfig({ env: {}, flags: { model: o.modelFlags } });
  const graphs = await openGraphs(config);
  const result: RegimeResult = { model: { ...o.model, name: `${graphs.card.name} ${graphs.card.version}` }, sessions: describeSessions(config), notes: [] };
  const { sampleRate } = graphs.card.audio;
  const { width, height } = graphs.card.visual;
  try {
    if (o.parts.includes('ceiling')) {
      o.log(`bench [${o.label}]: ceiling`);
      // Frames per second × audio windows per second: the audio embedding is refreshed at its cadence.
      const audioPerFrame = Math.min(1, 1000 / config.pipeline.audioCadenceMs / o.fps);
      result.ceiling = await measureCeiling(graphs, o.batches, o.ceilingS, audioPerFrame, (row) =>
        o.log(`  ${row.graph} batch ${row.batch}: ${row.itemsPerS.toFixed(0)} items/s (call p50 ${row.callMs.p50.toFixed(2)} ms)`),
      );
      o.print(result, 'ceiling');
    }
  } finally {
    // Idle sessions hold thread pools; release them so the service has the machine to itself.
    await graphs.close();
  }

  const ctx: StepContext = {
    ffmpeg: o.publisher,
    media: o.media,
    model: o.modelFlags,
    ...(o.overrides ? { overrides: o.overrides } : {}),
    log: o.log,
    loadAverage: o.loadAverage,
  };
  if (o.parts.includes('saturation')) {
    o.log(`bench [${o.label}]: saturation`);
    result.saturation = [];
    for (const n of o.streams) {
      o.log(`  N=${n}: ${o.durationS} s`);
      const step = await runSaturationStep(ctx, n, o.durationS);
      result.saturation.push(step);
      o.log(`  N=${n}: ${step.stats.heatmapsPerS.toFixed(1)} heatmaps/s, batch ${step.stats.batchMean.toFixed(1)}, p99 ${step.stats.decodedToRecvMs.p99.toFixed(0)} ms, skipped ${(100 * step.stats.skippedFraction).toFixed(0)}%, load ${step.load}`);
      result.notes.push(...step.notes.map((x) => `saturation N=${n}: ${x}`));
    }
    o.print(result, 'saturation');
  }
  if (o.parts.includes('fair') && result.saturation && result.saturation.length > 0) {
    o.log(`bench [${o.label}]: fair ceiling (decode-only and model-only per N)`);
    // The service's config as its child process loads it, for the decoders' preview and frame-cap settings.
    const serviceConfig = loadConfig({ env: {}, flags: { model: o.modelFlags, ...(o.overrides ?? {}) } });
    result.fair = await runFairCeiling({
      steps: result.saturation,
      ceiling: result.ceiling,
      decode: { media: o.media, ffmpegPath: o.serviceFfmpeg, width, height, sampleRate, settings: liveDecoderSettings(serviceConfig) },
      decodeSeconds: o.decodeOnlyS,
      modelSeconds: o.ceilingS,
      fps: o.fps,
      audioCadenceMs: serviceConfig.pipeline.audioCadenceMs,
      openGraphs: () => openGraphs(config),
      log: o.log,
    });
    result.notes.push(...result.fair.notes.map((x) => `fair ceiling: ${x}`));
    for (const row of result.fair.rows) {
      o.log(`  N=${row.streams}: fair ceiling ${row.fairCeiling.toFixed(1)}/s (${row.bound}-bound; decode-only ${row.decodeOnlyFps.toFixed(1)}, model-only ${row.modelOnlyFps.toFixed(1)}), delivered ${row.delivered.toFixed(1)}/s = ${(100 * row.fairCeilingRatio).toFixed(1)}%`);
    }
    o.print(result, 'fair');
  } else if (o.parts.includes('fair')) {
    result.notes.push('fair ceiling: not run (it needs the saturation part)');
  }
  return result;
}
