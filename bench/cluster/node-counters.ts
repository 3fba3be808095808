/**
 * The counters of one node that say whether anything was dropped on the way, read from its
 * /metrics (Prometheus text) and summed over their labels where a label only names the stream.
 */
export interface NodeCounters {
  readonly heatmapsPublished: number;
  readonly heatmapsReceived: number;
  /** Pub/sub messages not sent, by reason (redis_down, backlog, failed). */
  readonly fanoutDropped: Readonly<Record<string, number>>;
  /** Messages from other nodes ignored, by reason (invalid, unknown_stream). */
  readonly ignored: Readonly<Record<string, number>>;
  /** Heatmaps dropped from slow clients' queues on this node (all streams). */
  readonly clientQueueDropped: number;
}

/** Each series (`name{labels}`) with its value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (cut <= 0) continue;
    const v = Number(line.slice(cut + 1));
    if (Number.isFinite(v)) out.set(line.slice(0, cut), v);
  }
  return out;
}

function byLabel(series: Map<string, number>, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{(?:.*,)?${label}="([^"]*)"`);
  for (const [k, v] of series) {
    const m = re.exec(k);
    if (m?.[1] !== undefined) out[m[1]] = (out[m[1]] ?? 0) + v;
  }
  return out;
}

function total(series: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [k, v] of series) if (k === name || k.startsWith(`${name}{`)) sum += v;
  return sum;
}

export function countersOf(text: string): NodeCounters {
  const s = parseMetrics(text);
  return {
    heatmapsPublished: s.get('avloc_cluster_messages_published_total{kind="heatmap"}') ?? 0,
    heatmapsReceived: s.get('avloc_cluster_messages_received_total{kind="heatmap"}') ?? 0,
    fanoutDropped: byLabel(s, 'avloc_cluster_messages_dropped_total', 'reason'),
    ignored: byLabel(s, 'avloc_cluster_messages_ignored_total', 'reason'),
    clientQueueDropped: total(s, 'avloc_client_queue_dropped_total'),
  };
}

export async function readCounters(httpPort: number): Promise<NodeCounters> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  return countersOf(await res.text());
}

function minus(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out[k] = (a[k] ?? 0) - (b[k] ?? 0);
  return out;
}

/** What was counted between two readings. */
export function delta(after: NodeCounters, before: NodeCounters): NodeCounters {
  return {
    heatmapsPublished: after.heatmapsPublished - before.heatmapsPublished,
    heatmapsReceived: after.heatmapsReceived - before.heatmapsReceived,
    fanoutDropped: minus(after.fanoutDropped, before.fanoutDropped),
    ignored: minus(after.ignored, before.ignored),
    clientQueueDropped: after.clientQueueDropped - before.clientQueueDropped,
  };
}

export function sumOf(r: Readonly<Record<string, number>>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}
