import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateControl } from '../../src/app/rate-control.ts';
import type { StreamSession } from '../../src/app/stream-session.ts';
import { createLogger } from '../../src/log.ts';
import { AnalysisRateGovernor } from '../../src/pipeline/analysis-rate.ts';
import { MetricsRegistry } from '../../src/publish/metrics.ts';

/** The part of a StreamSession the rate control uses; `accept` says whether its decoder takes a command now. */
class FakeSession {
  analysisFps: number | null | undefined = null;
  accept = true;
  calls: Array<number | null> = [];
  constructor(
    readonly id: string,
    readonly wantFps = 30,
  ) {}
  setAnalysisFps(fps: number | null): boolean {
    this.calls.push(fps);
    if (!this.accept) return false;
    this.analysisFps = fps;
    return true;
  }
}

test('rate control: an overloaded model gates every gated stream, a refusing decoder is asked again, ungated streams are left alone', () => {
  const sessions = [new FakeSession('a'), new FakeSession('b'), new FakeSession('c')];
  sessions[2]!.analysisFps = undefined; // no gate (e.g. a file)
  const registry = new MetricsRegistry();
  const rc = new RateControl(new AnalysisRateGovernor({ headroom: 1, minEvidenceMs: 0 }), () => sessions as unknown as StreamSession[], registry, createLogger('test', 'warn'));
  // 10 frames per 500 ms of inference: 20 frames/s for 2 streams that want 30 each.
  rc.recordBatch(10, 500);
  sessions[1]!.accept = false;
  rc.tick();
  assert.equal(sessions[0]!.analysisFps, 10);
  assert.deepEqual(sessions[1]!.calls, [10], 'asked once');
  assert.equal(sessions[1]!.analysisFps, null, 'its decoder could not take the command: nothing changed');
  assert.deepEqual(sessions[2]!.calls, [], 'a stream without a gate is never told a rate');
  sessions[1]!.accept = true;
  rc.tick();
  assert.equal(sessions[1]!.analysisFps, 10, 'asked again on the next tick');
  assert.deepEqual(sessions[0]!.calls, [10], 'an unchanged rate is not sent again');
  const text = registry.render();
  assert.match(text, /avloc_model_capacity_fps \d/);
  assert.match(text, /avloc_stream_analysis_fps\{stream="a"\} 10/);
});
