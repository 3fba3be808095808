import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { clusterKeys } from '../../src/cluster/keys.ts';
import { parseClaim } from '../../src/cluster/records.ts';
import type { AvlocServer } from '../../src/server.ts';
import type { AvlocClient } from '../../src/wire/client.ts';
import { publishRtmp, type Publisher } from '../support/ffmpeg.ts';
import { httpJson, listStreams, metricValue, metricsText, startChildNode, waitFor, type ChildNode } from '../support/cluster.ts';
import { NO_REDIS, RedisServer } from '../support/redis-server.ts';
import { collect, connectClient, startTestServer } from '../support/service.ts';
import { AvlocClient as Client } from '../../src/wire/client.ts';
import { WebSocket } from 'ws';

/**
 * Cluster mode end to end: a real redis-server, node A in a child process (so it can be killed
 * like a crash), node B in this process, real ffmpeg publishers over RTMP, real WebSocket clients.
 * Claim TTL 1.5 s, heartbeat 250 ms, directory poll 250 ms; every wait is for a condition, with a
 * deadline, never for a duration.
 */
describe('cluster mode over Redis', { skip: NO_REDIS }, () => {
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const keys = clusterKeys(prefix);
  let redis: RedisServer;
  let nodeA: ChildNode;
  let nodeB: AvlocServer;
  let nodeC: ChildNode | undefined;
  let clientB: AvlocClient;
  const publishers: Publisher[] = [];
  const clients: AvlocClient[] = [];

  const cluster = (nodeId: string) => ({ redis: redis.url, nodeId, keyPrefix: prefix, claimTtlMs: 1500, heartbeatMs: 250, pollMs: 250 });
  // Light streams: the machine is small and shared.
  const light = { preview: { height: 96, maxFps: 5 }, pipeline: { maxFpsPerStream: 10 } } as const;
  const publish = (port: number, id: string): Publisher => {
    const p = publishRtmp(`rtmp://127.0.0.1:${port}/live/${id}`, { size: '160x120', fps: 10 });
    publishers.push(p);
    return p;
  };
  const connect = async (port: number): Promise<AvlocClient> => {
    const c = await Client.connect(`ws://127.0.0.1:${port}/ws`, { WebSocket });
    clients.push(c);
    return c;
  };
  /** GET one key over a connection of its own that fails at once while Redis is away. */
  const redisGet = async (key: string): Promise<string | null> => {
    const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    r.on('error', () => {});
    try {
      await r.connect();
      return await r.get(key);
    } finally {
      r.disconnect();
    }
  };
  const health = async (port: number) => (await httpJson(port, '/api/health')).body as { ok: boolean; cluster?: { node: string; redis: string; since: string } };

  before(async () => {
    redis = await RedisServer.launch();
    [nodeA, nodeB] = await Promise.all([startChildNode({ cluster: cluster('node-a'), ...light }), startTestServer({ cluster: cluster('node-b'), ...light })]);
    clientB = await connectClient(nodeB);
    clients.push(clientB);
    clientB.subscribe('*', { format: 'binary', preview: true });
    await waitFor('both nodes to reach Redis', async () => (await health(nodeA.httpPort)).cluster?.redis === 'up' && (await health(nodeB.httpPort)).cluster?.redis === 'up');
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.kill()));
    for (const c of clients) c.close();
    await nodeB?.close();
    await nodeA?.kill('SIGKILL');
    await nodeC?.kill('SIGKILL');
    await redis?.dispose();
  });

  test('a client on node B receives the heatmaps (and previews) of a stream published to node A; both list it with its node', async () => {
    const named = await connect(nodeB.httpPort);
    named.subscribe(['cam1'], { format: 'json', preview: false });   // by name: the per-stream channel
    const started = collect(clientB, 'stream.started', 1, (e) => e.id === 'cam1', 60_000);
    const namedMaps = collect(named, 'heatmap', 3, (h) => h.streamId === 'cam1', 60_000);
    publish(nodeA.rtmpPort, 'cam1');
    const [s] = await started;
    assert.equal(s!.node, 'node-a', 'stream.started names the node running the stream');
    const maps = await collect(clientB, 'heatmap', 5, (h) => h.streamId === 'cam1', 60_000);
    for (const h of maps) {
      assert.equal(h.grid.h, nodeB.model.gridH);
      assert.equal(h.grid.w, nodeB.model.gridW);
      assert.equal(h.grid.values.length, h.grid.h * h.grid.w);
      assert.equal(h.peak.value, Math.max(...h.grid.values), 'grid values arrive bit for bit');
      const c = h.counters;
      assert.ok(c.decoded >= 1 && c.analyzed + c.skipped + c.dropped <= c.decoded, `counters ${JSON.stringify(c)}`);
      // doneAtMs is node A's clock, sentAtMs node B's: only their order within one node is promised.
      assert.ok(h.doneAtMs >= h.decodedAtMs && h.timings.sendMs >= 0, `times ${h.decodedAtMs} ${h.doneAtMs} ${h.sentAtMs}`);
    }
    for (let i = 1; i < maps.length; i++) assert.ok(maps[i]!.frame > maps[i - 1]!.frame, 'frames in order');
    // Previews cross only once node A has seen that node B's client wants them (next poll).
    const [withPreview] = await collect(clientB, 'heatmap', 1, (h) => h.streamId === 'cam1' && h.preview !== undefined, 30_000);
    assert.deepEqual([...withPreview!.preview!.subarray(0, 2)], [0xff, 0xd8], 'preview is a JPEG');
    for (const h of await namedMaps) assert.equal(h.preview, undefined, 'no preview for a client that did not ask');
    const onB = (await listStreams(nodeB.httpPort)).find((x) => x.id === 'cam1');
    assert.deepEqual(onB && [onB.kind, onB.node], ['rtmp', 'node-a'], 'B lists A\u2019s stream with its node');
    const onA = (await listStreams(nodeA.httpPort)).find((x) => x.id === 'cam1');
    assert.equal(onA?.node, 'node-a');
    const text = await metricsText(nodeB.httpPort);
    assert.ok((metricValue(text, 'avloc_cluster_messages_received_total{kind="heatmap"}') ?? 0) > 0, 'B counts received heatmaps');
    assert.equal(metricValue(text, 'avloc_cluster_remote_streams'), 1);
  });

  test('a second publisher of the live id on node B is refused (RTMP disconnected, WHIP 409), never merged', async () => {
    const dup = publish(nodeB.rtmpPort ?? 0, 'cam1');
    await waitFor('the duplicate RTMP publisher to be disconnected', () => dup.child.exitCode !== null || dup.child.signalCode !== null, 30_000);
    assert.equal(nodeB.decoderPids().has('cam1'), false, 'no decoder was started for it on B');
    assert.equal(nodeB.hub.isLocal('cam1'), false);
    const whip = await httpJson(nodeB.httpPort, '/whip/cam1', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    assert.equal(whip.status, 409);
    const err = (whip.body as { error: { code: string; message: string } }).error;
    assert.equal(err.code, 'STREAM_EXISTS');
    assert.match(err.message, /live on node node-a/);
    const claim = parseClaim(await redisGet(keys.claim('cam1')));
    assert.equal(claim?.node, 'node-a', 'the claim stayed with node A');
    // A's stream goes on, still from A.
    const more = await collect(clientB, 'heatmap', 3, (h) => h.streamId === 'cam1', 30_000);
    assert.equal(more.length, 3);
    assert.equal((await listStreams(nodeB.httpPort)).find((x) => x.id === 'cam1')?.node, 'node-a');
    const refused = metricValue(await metricsText(nodeB.httpPort), 'avloc_cluster_claims_refused_total') ?? 0;
    assert.ok(refused >= 2, `claims refused on B: ${refused}`);
  });

  test('when node A is killed its stream ends on B (stream.ended, gone from /api/streams) and a publisher on B takes the id over', async () => {
    const ended = collect(clientB, 'stream.ended', 1, (e) => e.id === 'cam1', 30_000);
    await nodeA.kill('SIGKILL');
    const [e] = await ended;
    assert.match(e!.reason, /node node-a lost/);
    await waitFor('cam1 to leave B\u2019s /api/streams', async () => !(await listStreams(nodeB.httpPort)).some((x) => x.id === 'cam1'));
    for (const p of publishers.splice(0)) await p.kill();
    const started = collect(clientB, 'stream.started', 1, (m) => m.id === 'cam1' && m.node === 'node-b', 60_000);
    publish(nodeB.rtmpPort ?? 0, 'cam1');
    await started;
    await collect(clientB, 'heatmap', 3, (h) => h.streamId === 'cam1', 60_000);
    assert.equal((await listStreams(nodeB.httpPort)).find((x) => x.id === 'cam1')?.node, 'node-b');
    assert.equal(parseClaim(await redisGet(keys.claim('cam1')))?.node, 'node-b', 'B holds the claim now');
  });

  test('without Redis a node serves its own streams and says so; when Redis returns it claims them again and the others see them again', async () => {
    nodeC = await startChildNode({ cluster: cluster('node-c'), ...light, rtmp: { enabled: false } });
    const clientC = await connect(nodeC.httpPort);
    const seenOnC = collect(clientC, 'heatmap', 2, (h) => h.streamId === 'cam1', 60_000);
    clientC.subscribe('*', { format: 'binary', preview: false });
    await seenOnC;

    const goneOnC = collect(clientC, 'stream.ended', 1, (m) => m.id === 'cam1', 30_000);
    await redis.stop();
    const h = await waitFor('B to report Redis down', async () => {
      const b = await health(nodeB.httpPort);
      return b.cluster?.redis === 'down' ? b : null;
    });
    assert.equal(h.ok, true, 'the node itself stays healthy');
    assert.ok(!Number.isNaN(Date.parse(h.cluster!.since)), 'since is a date');
    const [last] = await collect(clientB, 'heatmap', 1, (x) => x.streamId === 'cam1', 30_000);
    const later = await collect(clientB, 'heatmap', 3, (x) => x.streamId === 'cam1' && x.frame > last!.frame, 30_000);
    assert.equal(later.length, 3, 'local streaming goes on without Redis');
    const text = await metricsText(nodeB.httpPort);
    assert.equal(metricValue(text, 'avloc_cluster_redis_up'), 0);
    await waitFor('dropped cluster messages to be counted', async () => (metricValue(await metricsText(nodeB.httpPort), 'avloc_cluster_messages_dropped_total{reason="redis_down"}') ?? 0) > 0);
    const [gone] = await goneOnC;
    assert.match(gone!.reason, /unreachable/, 'C cannot vouch for B\u2019s stream without the directory');

    const back = collect(clientC, 'stream.started', 1, (m) => m.id === 'cam1' && m.node === 'node-b', 60_000);
    await redis.start();   // empty: every claim is gone
    await waitFor('B to report Redis up', async () => (await health(nodeB.httpPort)).cluster?.redis === 'up', 30_000);
    await waitFor('B to claim cam1 again', async () => parseClaim(await redisGet(keys.claim('cam1')))?.node === 'node-b', 30_000);
    await back;
    await collect(clientC, 'heatmap', 2, (x) => x.streamId === 'cam1', 60_000);
    assert.equal(metricValue(await metricsText(nodeB.httpPort), 'avloc_cluster_redis_up'), 1);
  });
});
