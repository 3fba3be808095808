import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterStats } from '../../src/cluster/cluster-stats.ts';
import type { DirectoryEntry } from '../../src/cluster/directory.ts';
import { decodeEventMessage, decodeHeatmapMessage, encodeEventMessage, encodeHeatmapMessage } from '../../src/cluster/fanout-codec.ts';
import { RemoteStreams, type RemoteHub } from '../../src/cluster/remote-streams.ts';
import { createLogger } from '../../src/log.ts';
import type { StreamEvent } from '../../src/publish/hub-events.ts';
import { Hub } from '../../src/publish/hub.ts';
import type { HubSocket } from '../../src/publish/hub/session.ts';
import { AvlocMetrics } from '../../src/publish/metrics.ts';
import type { HeatmapSource, StreamSummary } from '../../src/wire/protocol.ts';

/** A hub that records what it is told. */
class RecordingHub implements RemoteHub {
  readonly calls: string[] = [];
  readonly local = new Set<string>();
  applyRemote(msg: StreamEvent, node: string): void {
    this.calls.push(`${msg.type} ${msg.id} ${node}${msg.type === 'stream.ended' ? ` (${msg.reason})` : ''}`);
  }
  updateRemote(summary: StreamSummary): void {
    this.calls.push(`summary ${summary.id}`);
  }
  isLocal(id: string): boolean {
    return this.local.has(id);
  }
}

const entry = (id: string, node: string, claim: string): DirectoryEntry => ({ id, node, claim, kind: 'rtmp', sinceMs: 1, summary: null });

test('the directory adds streams of other nodes, ignores its own and local ids, and ends those gone (lost node vs ended)', () => {
  let t = 100;
  const hub = new RecordingHub();
  const r = new RemoteStreams(hub, 'me', new ClusterStats(), () => t);
  hub.local.add('here');
  r.reconcile([entry('a', 'n1', 'c1'), entry('b', 'n2', 'c2'), entry('mine', 'me', 'c3'), entry('here', 'n1', 'c4')], 50, new Set());
  assert.deepEqual(hub.calls, ['stream.started a n1', 'stream.started b n2']);
  assert.equal(r.nodeOf('a'), 'n1');
  hub.calls.length = 0;
  t = 200;
  r.reconcile([], 150, new Set(['n2']));   // n1's presence key is gone too; n2 is alive
  assert.deepEqual(hub.calls, ['stream.ended a n1 (node n1 lost (its claim expired))', 'stream.ended b n2 (ended)']);
  assert.equal(r.count, 0);
});

test('a poll that began before an event cannot undo it: no end for a stream started meanwhile, no revival of an ended claim', () => {
  let t = 100;
  const hub = new RecordingHub();
  const r = new RemoteStreams(hub, 'me', new ClusterStats(), () => t);
  // The poll began at 90; at 100 the started event arrives; the poll's reading (without it) lands after.
  r.event({ node: 'n1', claim: 'c1', event: { type: 'stream.started', id: 'a', kind: 'rtmp', startedAtMs: 1 } });
  r.reconcile([], 90, new Set());
  assert.equal(r.count, 1, 'not ended by an older reading');
  // It ends (event), and then a reading taken before the end still shows its claim.
  r.event({ node: 'n1', claim: 'c1', event: { type: 'stream.ended', id: 'a', reason: 'publisher left' } });
  t = 200;
  r.reconcile([entry('a', 'n1', 'c1')], 150, new Set(['n1']));
  assert.equal(r.count, 0, 'an ended claim is not revived');
  // The same id under a new claim is a new stream.
  r.reconcile([entry('a', 'n1', 'c9')], 250, new Set(['n1']));
  assert.equal(r.count, 1);
  assert.deepEqual(hub.calls, ['stream.started a n1', 'stream.ended a n1 (publisher left)', 'stream.started a n1']);
});

test('streams ended for an unreadable directory come back when it is readable again', () => {
  const hub = new RecordingHub();
  const stats = new ClusterStats();
  const r = new RemoteStreams(hub, 'me', stats, () => 100);
  r.reconcile([entry('a', 'n1', 'c1')], 50, new Set());
  r.endAll('cluster directory unreachable', 'unreachable');
  assert.equal(stats.remoteEnds.unreachable, 1);
  r.reconcile([entry('a', 'n1', 'c1')], 150, new Set(['n1']));
  assert.equal(r.count, 1);
  assert.deepEqual(hub.calls, ['stream.started a n1', 'stream.ended a n1 (cluster directory unreachable)', 'stream.started a n1']);
});

const source = (frame: number, preview?: Uint8Array): HeatmapSource => ({
  type: 'heatmap',
  streamId: 'cam1',
  frame,
  ptsMs: frame * 100,
  captureAtMs: 1000.25,
  decodedAtMs: 1010.5,
  doneAtMs: 1020.75,
  timings: { decodeMs: 10.25, waitMs: 5, inferenceMs: 5.5 },
  grid: { h: 2, w: 2, values: new Float32Array([0.1, -0.2, 0.3, 0.4]) },
  peak: { x: 1, y: 1, u: 0.75, v: 0.75, value: 0.4000000059604645 },
  sounding: 0.5,
  counters: { decoded: frame + 1, skipped: 0, dropped: 0, analyzed: frame + 1 },
  hasAudio: true,
  batchSize: 2,
  ...(preview ? { preview } : {}),
});

test('a heatmap crosses nodes bit for bit, with its preview only when asked; events round-trip; garbage is refused', () => {
  const jpeg = new Uint8Array([0xff, 0xd8, 1, 2, 3]);
  const withJpeg = decodeHeatmapMessage(encodeHeatmapMessage('node-a', source(3, jpeg), true));
  assert.equal(withJpeg.node, 'node-a');
  assert.deepEqual([...withJpeg.source.grid.values], [...new Float32Array([0.1, -0.2, 0.3, 0.4])]);
  assert.deepEqual([...(withJpeg.source.preview ?? [])], [...jpeg]);
  assert.deepEqual(withJpeg.source.timings, { decodeMs: 10.25, waitMs: 5, inferenceMs: 5.5 });
  assert.deepEqual(withJpeg.source.counters, { decoded: 4, skipped: 0, dropped: 0, analyzed: 4 });
  assert.equal(decodeHeatmapMessage(encodeHeatmapMessage('node-a', source(3, jpeg), false)).source.preview, undefined);
  const ev: StreamEvent = { type: 'stream.started', id: 'cam1', kind: 'whip', startedAtMs: 5, node: 'node-a' };
  assert.deepEqual(decodeEventMessage(encodeEventMessage('node-a', 'c1', ev)), { v: 1, node: 'node-a', claim: 'c1', event: ev });
  assert.throws(() => decodeHeatmapMessage(new Uint8Array([1, 2, 3, 4, 5, 6, 7])), /PROTOCOL_INVALID|bad magic/);
  assert.throws(() => decodeEventMessage('{"v":1,"node":"x","claim":"c","event":{"type":"heatmap"}}'), /bad cluster event/);
});

class StalledSocket implements HubSocket {
  bufferedAmount = 1 << 20;   // never drains
  readyState = 1;
  sent = 0;
  send(): void {
    this.sent++;
  }
  close(): void {}
}

test('remote heatmaps go through the same bounded client queues and drop counts as local ones', () => {
  const metrics = new AvlocMetrics();
  const hub = new Hub({ log: createLogger('test', 'silent'), heatmapQueueLimit: 2, metrics, nodeId: 'node-b' });
  const sock = new StalledSocket();
  const client = hub.addClient(sock);
  hub.subscribe(client, '*', 'binary', false);
  hub.applyRemote({ type: 'stream.started', id: 'cam1', kind: 'rtmp', startedAtMs: 1 }, 'node-a');
  for (let i = 0; i < 5; i++) hub.publishRemote(source(i));
  const st = hub.clientStats()[0];
  assert.equal(st?.queuedHeatmaps, 2);
  assert.equal(st?.queueDropped, 3);
  assert.equal(metrics.clientQueueDropped.get({ stream: 'cam1' }), 3);
  const listed = hub.listStreams();
  assert.deepEqual(listed.map((s) => [s.id, s.node, s.state, s.queueDropped]), [['cam1', 'node-a', 'live', 3]]);
  assert.equal(metrics.streams.get(), 0, 'avloc_streams counts this node\u2019s own streams only');
  assert.equal(hub.isLocal('cam1'), false);
  // A local stream of the same id wins here; the remote one's heatmaps are then ignored.
  hub.streamStarted('cam1', 'whip', 2);
  hub.publishRemote(source(9));
  assert.equal(hub.clientStats()[0]?.queueDropped, 3);
  assert.deepEqual(hub.listStreams().map((s) => [s.kind, s.node]), [['whip', 'node-b']]);
  hub.close();
});

test('the hub tells taps only of local events, and its interest sums what clients want', () => {
  const hub = new Hub({ log: createLogger('test', 'silent') });
  const seen: string[] = [];
  hub.tap((e) => seen.push(e.type === 'heatmap' ? `heatmap ${e.source.streamId}` : `${e.type} ${e.id}`));
  let changes = 0;
  hub.watchInterest(() => changes++);
  const a = hub.addClient(new StalledSocket());
  const b = hub.addClient(new StalledSocket());
  hub.subscribe(a, ['x', 'y'], 'json', true);
  hub.subscribe(b, ['y'], 'binary', false);
  let i = hub.interest();
  assert.deepEqual([i.all, i.allPreview, [...i.named]], [false, false, [['x', true], ['y', true]]]);
  hub.subscribe(b, '*', 'binary', false);
  i = hub.interest();
  assert.deepEqual([i.all, i.allPreview], [true, false]);
  assert.equal(changes, 3);
  hub.applyRemote({ type: 'stream.started', id: 'r', kind: 'rtmp', startedAtMs: 1 }, 'other');
  hub.publishRemote({ ...source(1), streamId: 'r' });
  hub.streamStarted('l', 'rtmp', 1);
  hub.streamEnded('l', 'done');
  assert.deepEqual(seen, ['stream.started l', 'stream.ended l']);
  hub.close();
});
