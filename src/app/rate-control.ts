import type { Logger } from '../log.ts';
import { nowMs } from '../pipeline/types.ts';
import type { AnalysisRateGovernor } from '../pipeline/analysis-rate.ts';
import type { MetricsRegistry } from '../publish/metrics.ts';
import type { StreamSession } from './stream-session.ts';

/**
 * Wires the AnalysisRateGovernor (src/pipeline/analysis-rate.ts) into the live service: every
 * inference batch is recorded, and once a second each gated stream is given its planned rate.
 * A decoder that cannot take a command now (it has not read the last one) keeps its old rate
 * and is asked again on the next tick.
 */
export class RateControl {
  private timer: NodeJS.Timeout | null = null;
  private readonly capacity;
  private readonly rate;

  constructor(
    private readonly governor: AnalysisRateGovernor,
    private readonly sessions: () => Iterable<StreamSession>,
    registry: MetricsRegistry,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {
    this.capacity = registry.gauge('avloc_model_capacity_fps', 'Frames per second of inference time the model did lately (0: not measured yet).');
    this.rate = registry.gauge('avloc_stream_analysis_fps', 'Frames per second a stream hands the model at most (pipeline.adaptiveRate); 0: every frame.');
  }

  /** One batch of `frames` frames that took `ms`. */
  recordBatch(frames: number, ms: number): void {
    this.governor.recordBatch(frames, ms, nowMs());
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Plans and applies the rates now (the timer calls it; exported for tests). */
  tick(): void {
    const now = nowMs();
    const gated = [...this.sessions()].filter((s) => s.analysisFps !== undefined);
    const plan = this.governor.plan(
      gated.map((s) => ({ id: s.id, wantFps: s.wantFps, currentFps: s.analysisFps ?? null })),
      now,
    );
    this.capacity.set({}, this.governor.capacityFps(now) ?? 0);
    for (const s of gated) {
      const fps = plan.get(s.id) ?? null;
      const before = s.analysisFps ?? null;
      if (fps !== before && s.setAnalysisFps(fps)) this.log.debug('analysis rate', { stream: s.id, fps, was: before });
      this.rate.set({ stream: s.id }, s.analysisFps ?? 0);
    }
  }
}
