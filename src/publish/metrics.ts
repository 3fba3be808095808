/**
 * /metrics: the service's own series in a small registry, and prom-client's default process,
 * GC and event-loop metrics beside them.
 *
 * Why our series keep a registry of their own: most of them mirror counts owned elsewhere — the
 * pipeline's per-stream StreamCounters, the ingest's refusal counts — copied in at scrape time
 * (`onCollect`) as absolute values, and per-stream series are removed when the stream ends;
 * prom-client's Counter can only be incremented. Counters, gauges and fixed-bucket histograms,
 * each with labels, rendered in the Prometheus text format 0.0.4. What a hand-written registry
 * cannot do well — process CPU and memory, heap spaces, GC pauses, event-loop lag — comes from
 * prom-client (`collectDefaultMetrics`).
 *
 * Label sets are bounded by the caller: per-stream series are removed when the stream ends.
 */
import { Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';

export type Labels = Readonly<Record<string, string>>;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join('\u0000');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function renderLabels(labels: Labels, extra?: Labels): string {
  const all = { ...labels, ...extra };
  const keys = Object.keys(all);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(all[k] ?? '')}"`).join(',')}}`;
}

function renderValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    if (!NAME_RE.test(name)) throw new Error(`bad metric name ${name}`);
  }
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  abstract remove(labels: Labels): void;
  /** Drops every series whose `label` equals `value` (e.g. all series of an ended stream). */
  abstract removeWhere(label: string, value: string): void;
  abstract samples(): string[];
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} ${this.type}`];
    return [...lines, ...this.samples()].join('\n');
  }
}

abstract class ScalarMetric extends Metric {
  protected readonly series = new Map<string, { labels: Labels; value: number }>();

  protected slot(labels: Labels): { labels: Labels; value: number } {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0;
  }

  remove(labels: Labels): void {
    this.series.delete(labelKey(labels));
  }

  removeWhere(label: string, value: string): void {
    for (const [k, s] of this.series) if (s.labels[label] === value) this.series.delete(k);
  }

  samples(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${renderLabels(s.labels)} ${renderValue(s.value)}`);
  }
}

export class Counter extends ScalarMetric {
  readonly type = 'counter' as const;

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot decrease`);
    this.slot(labels).value += by;
  }

  /** Mirrors a monotonic count owned elsewhere (e.g. the pipeline's StreamCounters). */
  set(labels: Labels, value: number): void {
    this.slot(labels).value = value;
  }
}

export class Gauge extends ScalarMetric {
  readonly type = 'gauge' as const;

  set(labels: Labels, value: number): void {
    this.slot(labels).value = value;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.slot(labels).value += by;
  }

  dec(labels: Labels = {}, by = 1): void {
    this.slot(labels).value -= by;
  }
}

interface HistogramSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric {
  readonly type = 'histogram' as const;
  private readonly series = new Map<string, HistogramSeries>();
  readonly buckets: readonly number[];

  constructor(name: string, help: string, buckets: readonly number[]) {
    super(name, help);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] ?? Infinity)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }

  /** Snapshot of one series (tests, health). */
  get(labels: Labels = {}): { count: number; sum: number } {
    const s = this.series.get(labelKey(labels));
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 };
  }

  remove(labels: Labels): void {
    this.series.delete(labelKey(labels));
  }

  removeWhere(label: string, value: string): void {
    for (const [k, s] of this.series) if (s.labels[label] === value) this.series.delete(k);
  }

  samples(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${renderLabels(s.labels, { le: renderValue(b) })} ${s.counts[i] ?? 0}`));
      out.push(`${this.name}_bucket${renderLabels(s.labels, { le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${renderLabels(s.labels)} ${renderValue(s.sum)}`);
      out.push(`${this.name}_count${renderLabels(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: Array<() => void> = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** Runs before every render; use it to copy values owned elsewhere into gauges/counters. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** Removes every series labelled `label=value` from every metric. */
  removeWhere(label: string, value: string): void {
    for (const m of this.metrics.values()) m.removeWhere(label, value);
  }

  render(): string {
    for (const fn of this.collectors) fn();
    return `${[...this.metrics.values()].map((m) => m.render()).join('\n')}\n`;
  }

  private add<M extends Metric>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }
}

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32];

/**
 * The service's metrics, named once here so docs/PROTOCOL.md, the hub, and the wiring agree.
 * The hub feeds frames, clients and latency; the Localizer (via server.ts) calls `recordBatch`.
 */
export class AvlocMetrics {
  readonly registry = new MetricsRegistry();
  readonly framesDecoded = this.registry.counter('avloc_frames_decoded_total', 'Frames decoded, per stream.');
  readonly framesSkipped = this.registry.counter('avloc_frames_skipped_total', 'Frames replaced in the latest-only slot before inference, per stream.');
  readonly framesDropped = this.registry.counter('avloc_frames_dropped_total', 'Frames dropped as stale past the deadline, per stream.');
  readonly framesAnalyzed = this.registry.counter('avloc_frames_analyzed_total', 'Frames analyzed, per stream.');
  readonly heatmapsSent = this.registry.counter('avloc_heatmaps_sent_total', 'Heatmap messages written to client sockets, per stream.');
  readonly clientQueueDropped = this.registry.counter('avloc_client_queue_dropped_total', 'Heatmaps dropped (oldest first) from slow clients\u2019 queues, per stream.');
  readonly clientsClosedSlow = this.registry.counter('avloc_clients_closed_slow_total', 'Clients disconnected because their control queue overflowed.');
  readonly clients = this.registry.gauge('avloc_clients', 'Connected WebSocket clients.');
  readonly streams = this.registry.gauge('avloc_streams', 'Live streams.');
  readonly batches = this.registry.counter('avloc_batches_total', 'Inference batches run, by batch size.');
  readonly batchSize = this.registry.histogram('avloc_inference_batch_size', 'Frames per inference batch.', BATCH_BUCKETS);
  readonly inferenceSeconds = this.registry.histogram('avloc_inference_seconds', 'Wall time of one inference batch.', LATENCY_BUCKETS);
  readonly stageSeconds = this.registry.histogram('avloc_stage_seconds', 'Per-frame time spent in each stage (decode, wait, inference, send).', LATENCY_BUCKETS);
  readonly e2eLatency = this.registry.histogram('avloc_e2e_latency_seconds', 'Capture to socket write, per heatmap message.', LATENCY_BUCKETS);
  readonly uptime = this.registry.gauge('avloc_uptime_seconds', 'Seconds since the metrics registry was created.');
  private readonly startedAt = Date.now();
  /** prom-client's default metrics (process_*, nodejs_*: CPU, memory, heap, GC, event-loop lag). */
  private readonly runtime = new PromRegistry();

  constructor() {
    collectDefaultMetrics({ register: this.runtime });
    this.registry.onCollect(() => {
      this.uptime.set({}, (Date.now() - this.startedAt) / 1000);
    });
  }

  /** Called once per inference batch by the Localizer's wiring. */
  recordBatch(size: number, inferenceSeconds: number): void {
    this.batches.inc({ size: String(size) });
    this.batchSize.observe({}, size);
    this.inferenceSeconds.observe({}, inferenceSeconds);
  }

  /** Mirrors the pipeline's per-stream counters. */
  setStreamCounters(stream: string, c: { decoded: number; skipped: number; dropped: number; analyzed: number }): void {
    this.framesDecoded.set({ stream }, c.decoded);
    this.framesSkipped.set({ stream }, c.skipped);
    this.framesDropped.set({ stream }, c.dropped);
    this.framesAnalyzed.set({ stream }, c.analyzed);
  }

  /** Forgets an ended stream's series so label cardinality stays bounded. */
  forgetStream(stream: string): void {
    this.registry.removeWhere('stream', stream);
  }

  /** Our series, then the runtime's. */
  async render(): Promise<string> {
    return `${this.registry.render()}${await this.runtime.metrics()}`;
  }
}
