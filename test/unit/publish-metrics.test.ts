import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvlocMetrics, MetricsRegistry } from '../../src/publish/metrics.ts';

test('registry renders counters, gauges and histograms in Prometheus text format', () => {
  const r = new MetricsRegistry();
  const c = r.counter('x_total', 'Things.');
  const g = r.gauge('y', 'Level.');
  const h = r.histogram('z_seconds', 'Durations.', [0.1, 0.5]);
  c.inc({ stream: 'a"b\\c\nd' }, 2);
  g.set({}, 1.5);
  h.observe({}, 0.05);
  h.observe({}, 0.3);
  h.observe({}, 9);
  assert.equal(
    r.render(),
    [
      '# HELP x_total Things.',
      '# TYPE x_total counter',
      'x_total{stream="a\\"b\\\\c\\nd"} 2',
      '# HELP y Level.',
      '# TYPE y gauge',
      'y 1.5',
      '# HELP z_seconds Durations.',
      '# TYPE z_seconds histogram',
      'z_seconds_bucket{le="0.1"} 1',
      'z_seconds_bucket{le="0.5"} 2',
      'z_seconds_bucket{le="+Inf"} 3',
      'z_seconds_sum 9.35',
      'z_seconds_count 3',
      '',
    ].join('\n'),
  );
});

test('counters refuse to go down; names are checked; duplicates are refused', () => {
  const r = new MetricsRegistry();
  const c = r.counter('a_total', 'A.');
  assert.throws(() => c.inc({}, -1));
  assert.throws(() => r.counter('a_total', 'again'));
  assert.throws(() => r.gauge('bad-name', 'x'));
});

test('batches by size show that two streams were batched together', async () => {
  const m = new AvlocMetrics();
  m.recordBatch(2, 0.04);
  m.recordBatch(2, 0.05);
  m.recordBatch(1, 0.02);
  const text = await m.render();
  assert.match(text, /^avloc_batches_total\{size="2"\} 2$/m);
  assert.match(text, /^avloc_batches_total\{size="1"\} 1$/m);
  assert.match(text, /^avloc_inference_batch_size_bucket\{le="1"\} 1$/m);
  assert.match(text, /^avloc_inference_batch_size_count 3$/m);
  assert.match(text, /^avloc_inference_seconds_count 3$/m);
});

test('an ended stream\u2019s series are forgotten (bounded label cardinality)', async () => {
  const m = new AvlocMetrics();
  m.setStreamCounters('cam1', { decoded: 10, skipped: 3, dropped: 1, analyzed: 6 });
  m.setStreamCounters('cam2', { decoded: 1, skipped: 0, dropped: 0, analyzed: 1 });
  assert.match(await m.render(), /^avloc_frames_skipped_total\{stream="cam1"\} 3$/m);
  m.forgetStream('cam1');
  const text = await m.render();
  assert.doesNotMatch(text, /stream="cam1"/);
  assert.match(text, /^avloc_frames_decoded_total\{stream="cam2"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
});
