import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mode, percentile, slope, summarize } from '../../bench/stats.ts';
import { windowStats } from '../../bench/parts/window-stats.ts';
import { ceilingAt, type CeilingResult } from '../../bench/parts/ceiling.ts';
import { niceTicks, renderFigure } from '../../bench/report/svg.ts';
import { parseBenchArgs } from '../../bench/args.ts';
import type { Received } from '../../bench/harness/subscriber.ts';

test('percentiles interpolate between ranks (numpy linear)', () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(xs, 0.5), 5.5);
  assert.ok(Math.abs(percentile(xs, 0.99) - 9.91) < 1e-9);
  const s = summarize([3, 1, 2]);
  assert.equal(s.p50, 2);
  assert.equal(s.max, 3);
  assert.equal(s.n, 3);
  assert.ok(Number.isNaN(summarize([]).p99));
});

test('slope and mode', () => {
  assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(mode([1, 8, 8, 4, 4]), 8, 'ties go to the larger value');
});

function msg(streamId: string, i: number, over: Partial<Received> = {}): Received {
  return {
    streamId, frame: i, ptsMs: i * 33, captureAtMs: 1000 + i * 33, decodedAtMs: 1010 + i * 33, doneAtMs: 1020 + i * 33,
    sentAtMs: 1021 + i * 33, recvAtMs: 1030 + i * 33, inferenceMs: 5, waitMs: 2, batchSize: 2,
    decoded: i * 2, skipped: i, dropped: 0, analyzed: i, queueDropped: 0, ...over,
  };
}

test('windowStats: rate, latencies and per-stream counter deltas', () => {
  const msgs = [msg('a', 0), msg('b', 0), msg('a', 10), msg('b', 10)];
  const w = windowStats(msgs, 2, new Map([['a', 900]]));
  assert.equal(w.heatmapsPerS, 2);
  assert.equal(w.streamsSeen, 2);
  assert.equal(w.decodedToRecvMs.p50, 20);
  assert.equal(w.captureToRecvMs.p50, 30);
  assert.equal(w.decoded, 40, 'decoded deltas summed over streams');
  assert.equal(w.skipped, 20);
  assert.equal(w.skippedFraction, 0.5);
  assert.equal(w.notAnalyzedFraction, 0.5);
  assert.equal(w.publisherToRecvMs?.n, 2, 'only stream a has a publisher spawn time');
  assert.equal(w.publisherToRecvMs?.p50, 130, 'received - (spawn + pts)');
});

test('ceilingAt interpolates between measured batch sizes', () => {
  const c: CeilingResult = {
    rows: [],
    audioPerFrame: 0,
    frameCeiling: [{ batch: 1, framesPerS: 100 }, { batch: 2, framesPerS: 150 }, { batch: 4, framesPerS: 250 }],
  };
  assert.equal(ceilingAt(c, 1), 100);
  assert.equal(ceilingAt(c, 1.5), 125);
  assert.equal(ceilingAt(c, 3), 200);
  assert.equal(ceilingAt(c, 9), 250, 'beyond the last size: the last value');
});

test('niceTicks and a figure render as standalone SVG', () => {
  assert.deepEqual(niceTicks(0, 95), [0, 20, 40, 60, 80]);
  assert.deepEqual(niceTicks(0, 95, 5, true), [0, 20, 40, 60, 80, 100]);
  const svg = renderFigure('t', 'c <&>', [
    { title: 'p', xLabel: 'x', yLabel: 'y', series: [{ name: 's', color: '#000', points: [[1, 10], [2, 100]] }], logY: true },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /c &lt;&amp;&gt;/, 'text is escaped');
  assert.match(svg, /<polyline points="[\d., ]+"/);
});

test('bench args: quick defaults, --only validation, --device pass-through', () => {
  const q = parseBenchArgs(['--quick', '--device', 'cuda']);
  assert.ok(q !== 'help');
  assert.equal(q.device, 'cuda');
  assert.equal(q.soakS, 45, 'quick: a 45 s soak, so both regimes fit in five minutes');
  assert.equal(q.soakWindowS, 45 / 4);
  assert.deepEqual(q.streams, [1, 2, 4, 8]);
  assert.throws(() => parseBenchArgs(['--only', 'ceiling,bogus']), /unknown part/);
  assert.throws(() => parseBenchArgs(['--device', 'tpu']), /cpu or cuda/);
});

test('targets: saturation is judged where frames were skipped; latency budget is inference p50 + two frames', async () => {
  const { checkTargets, latencyBudgetMs } = await import('../../bench/report/targets.ts');
  const { windowStats: ws } = await import('../../bench/parts/window-stats.ts');
  assert.equal(Math.round(latencyBudgetMs(10, 30)), 77);
  const usage = { cpuPct: 0, rssMiB: 0, peakRssMiB: 0, processes: 0 };
  // Stream a: 20 frames decoded, 10 skipped, 10 analyzed over the window; 1 s; batch 2; inference 5 ms.
  const stats = ws([msg('a', 0), msg('a', 10)], 1);
  const report = {
    fps: 30,
    ceiling: { rows: [], audioPerFrame: 0, frameCeiling: [{ batch: 1, framesPerS: 2 }, { batch: 2, framesPerS: 2 }] },
    saturation: [{ streams: 1, stats, service: usage, decoders: usage, publishers: usage, loopDelay: null, load: '', notes: [] }],
    targets: [],
    notes: [],
  } as unknown as Parameters<typeof checkTargets>[0];
  const [sat, lat, soak, naive] = checkTargets(report);
  assert.equal(sat?.met, true, '2 heatmaps/s against a ceiling of 2/s');
  assert.equal(lat?.met, true, 'p99 20 ms within 5 + 66.7 ms');
  assert.equal(soak?.met, null);
  assert.equal(naive?.met, null);
});
