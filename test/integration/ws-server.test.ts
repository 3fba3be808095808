import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { frameResult, counters, startRig } from './publish-rig.ts';
import { watchHeatmaps } from '../../src/publish/watch.ts';

test('a peer that never answers WebSocket pings is terminated by the keepalive', { timeout: 10_000 }, async () => {
  const rig = await startRig({}, { pingIntervalMs: 30 });
  try {
    // autoPong: false makes this ws client ignore pings, like a hung peer.
    const raw = new WebSocket(rig.url, { autoPong: false });
    const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
    await new Promise((r) => raw.once('open', r));
    assert.equal(await closed, 1006); // terminated: no close frame
    // The server sees its side close a moment later; wait for it rather than guess a delay.
    while (rig.wss.clientCount > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(rig.hub.clientStats().length, 0);
  } finally {
    await rig.close();
  }
});

test('ws server close() says 1001 to clients and is idempotent', async () => {
  const rig = await startRig();
  const raw = new WebSocket(rig.url);
  await new Promise((r) => raw.once('open', r));
  const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
  const a = rig.wss.close();
  const b = rig.wss.close();
  assert.equal(a, b);
  await a;
  assert.equal(await closed, 1001);
  await rig.close();
});

test('the hello message names the protocol and the model', async () => {
  const rig = await startRig();
  try {
    const raw = new WebSocket(rig.url);
    const first = await new Promise<string>((r) => raw.once('message', (d) => r(String(d))));
    assert.deepEqual(JSON.parse(first), {
      type: 'hello',
      protocol: 'avloc/2',
      server: { name: 'avloc', version: '0.0.0' },
      model: { name: 'test', gridH: 4, gridW: 6 },
      maxMessageBytes: 16 * 1024,
    });
    raw.close();
  } finally {
    await rig.close();
  }
});

test('avloc watch prints one line per heatmap as it arrives', { timeout: 10_000 }, async () => {
  const rig = await startRig();
  try {
    const lines: string[] = [];
    const done = watchHeatmaps({ url: rig.url, streams: ['cam1'], out: (l) => lines.push(l), limit: 2 });
    // Publish once the watcher has subscribed (its streams answer is printed as a comment line).
    while (!lines.some((l) => l.startsWith('# streams'))) await new Promise((r) => setTimeout(r, 5));
    rig.hub.publish(frameResult('cam1', 7), counters(7));
    rig.hub.publish(frameResult('cam1', 8), counters(8));
    await done;
    const beats = lines.filter((l) => !l.startsWith('#'));
    assert.equal(beats.length, 2);
    assert.match(beats[0] ?? '', /^cam1 #7 pts=0\.280s peak=\(0\.25,0\.63\) cell=1,2 value=0\.900 latency=\d+\.\dms \[decode 10\.0 wait 2\.0 infer 15\.0 send \d+\.\d\] batch=2 skipped=2 dropped=1 queueDropped=0$/);
    assert.match(beats[1] ?? '', /^cam1 #8 /);
  } finally {
    await rig.close();
  }
});

test('an upgrade on another path is refused with 404 instead of hanging', async () => {
  const rig = await startRig();
  try {
    const raw = new WebSocket(`ws://127.0.0.1:${rig.port}/elsewhere`);
    const status = await new Promise<number>((resolve) => {
      raw.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      raw.once('error', () => resolve(-1));
    });
    assert.equal(status, 404);
    raw.terminate();
  } finally {
    await rig.close();
  }
});

test('regression: a client flooding messages is closed with 1008 and the others are served on', { timeout: 10_000 }, async () => {
  const rig = await startRig();
  try {
    const calm = new WebSocket(rig.url);
    const flood = new WebSocket(rig.url);
    await Promise.all([calm, flood].map((w) => new Promise((r) => w.once('open', r))));
    const closed = new Promise<[number, string]>((r) => flood.once('close', (code, reason) => r([code, String(reason)])));
    for (let i = 0; i < 2000; i++) flood.send('{"type":"ping"}');
    const [code, reason] = await closed;
    assert.equal(code, 1008);
    assert.match(reason, /message rate limit/);
    const pong = new Promise<string>((r) => calm.on('message', (d) => { if (String(d).includes('"pong"')) r(String(d)); }));
    calm.send('{"type":"ping","id":7}');
    assert.match(await pong, /"id":7/);
    calm.close();
  } finally {
    await rig.close();
  }
});

test('one address may hold at most maxClientsPerAddress connections; past it the upgrade gets 429, and a freed slot is usable', async () => {
  const rig = await startRig({}, { maxClientsPerAddress: 3 });
  const open = (): Promise<WebSocket | number> =>
    new Promise((resolve) => {
      const ws = new WebSocket(rig.url);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.on('error', () => undefined);
    });
  try {
    const first = await Promise.all([open(), open(), open()]);
    assert.ok(first.every((w) => w instanceof WebSocket), 'three connections from one address');
    assert.equal(await open(), 429);
    const one = first[0] as WebSocket;
    await new Promise<void>((r) => {
      one.once('close', () => r());
      one.close();
    });
    while (rig.wss.clientCount > 2) await new Promise((r) => setTimeout(r, 5));
    const again = await open();
    assert.ok(again instanceof WebSocket, 'the slot was freed');
    for (const w of [...first.slice(1), again]) (w as WebSocket).close();
  } finally {
    await rig.close();
  }
});
