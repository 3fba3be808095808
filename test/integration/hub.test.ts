import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { AvlocClient } from '../../src/wire/client.ts';
import { decodeHeatmapBinary } from '../../src/wire/protocol.ts';
import type { Heatmap } from '../../src/wire/protocol.ts';
import { GRID, counters, frameResult, startRig } from './publish-rig.ts';
import type { Rig } from './publish-rig.ts';

const WS = WebSocket;

async function client(rig: Rig): Promise<AvlocClient> {
  return AvlocClient.connect(rig.url, { WebSocket: WS, minBackoffMs: 20, maxBackoffMs: 100 });
}

/** Subscribes and waits for the server's `streams` answer, so later publishes reach this client. */
async function subscribed(c: AvlocClient, ...args: Parameters<AvlocClient['subscribe']>): Promise<void> {
  const ack = c.once('streams');
  c.subscribe(...args);
  await ack;
}

function collect(c: AvlocClient): Heatmap[] {
  const got: Heatmap[] = [];
  c.on('heatmap', (h) => got.push(h));
  return got;
}

test('a client subscribed to one stream gets only that stream; one subscribed to * gets all', async () => {
  const rig = await startRig();
  const one = await client(rig);
  const all = await client(rig);
  try {
    await subscribed(one, ['cam1']);
    await subscribed(all, '*');
    const gotOne = collect(one);
    const gotAll = collect(all);
    const lastOne = one.once('heatmap', (h) => h.streamId === 'cam1' && h.frame === 3);
    const lastAll = all.once('heatmap', (h) => h.streamId === 'cam1' && h.frame === 3);
    for (let i = 0; i < 3; i++) {
      rig.hub.publish(frameResult('cam1', i), counters(i));
      rig.hub.publish(frameResult('cam2', i), counters(i));
    }
    rig.hub.publish(frameResult('cam1', 3), counters(3));
    await Promise.all([lastOne, lastAll]);
    assert.deepEqual(gotOne.map((h) => `${h.streamId}/${h.frame}`), ['cam1/0', 'cam1/1', 'cam1/2', 'cam1/3']);
    assert.deepEqual(
      gotAll.map((h) => `${h.streamId}/${h.frame}`),
      ['cam1/0', 'cam2/0', 'cam1/1', 'cam2/1', 'cam1/2', 'cam2/2', 'cam1/3'],
    );
  } finally {
    one.close();
    all.close();
    await rig.close();
  }
});

test('binary and JSON subscribers decode the same heatmap; preview bytes only when asked', async () => {
  const rig = await startRig();
  const clients = await Promise.all([client(rig), client(rig), client(rig), client(rig)]);
  const [binNo, binYes, jsonNo, jsonYes] = clients as [AvlocClient, AvlocClient, AvlocClient, AvlocClient];
  try {
    await subscribed(binNo, ['cam1'], { format: 'binary', preview: false });
    await subscribed(binYes, ['cam1'], { format: 'binary', preview: true });
    await subscribed(jsonNo, ['cam1'], { format: 'json', preview: false });
    await subscribed(jsonYes, ['cam1'], { format: 'json', preview: true });
    const jpeg = new Uint8Array(3001).map((_, i) => (i * 13) & 255);
    const r = frameResult('cam1', 5, jpeg);
    const waits = clients.map((c) => c.once('heatmap'));
    rig.hub.publish(r, counters(5));
    const [a, b, c, d] = (await Promise.all(waits)) as [Heatmap, Heatmap, Heatmap, Heatmap];
    for (const h of [a, b, c, d]) {
      assert.equal(h.streamId, 'cam1');
      assert.equal(h.frame, 5);
      assert.equal(h.ptsMs, 200);
      assert.deepEqual(Array.from(h.grid.values), Array.from(r.heatmap));
      assert.deepEqual(h.peak, r.peak);
      assert.deepEqual(h.counters, { ...counters(5), queueDropped: 0 });
      assert.equal(h.batchSize, 2);
      assert.ok(h.sentAtMs >= r.doneAtMs, 'sentAtMs is after the result was ready');
      assert.equal(h.timings.sendMs, h.sentAtMs - r.doneAtMs);
    }
    assert.equal(a.preview, undefined);
    assert.equal(c.preview, undefined);
    assert.deepEqual(b.preview, jpeg);
    assert.deepEqual(d.preview, jpeg);
  } finally {
    for (const c of clients) c.close();
    await rig.close();
  }
});

test('unsubscribe stops a stream; the other keeps flowing', async () => {
  const rig = await startRig();
  const c = await client(rig);
  try {
    await subscribed(c, '*');
    const got = collect(c);
    const pong = c.once('pong', (p) => p.id === 'after-unsub');
    c.unsubscribe(['cam1']);
    c.ping('after-unsub'); // answered in order, so the unsubscribe has been applied
    await pong;
    const last = c.once('heatmap', (h) => h.streamId === 'cam2' && h.frame === 1);
    rig.hub.publish(frameResult('cam1', 0), counters(0));
    rig.hub.publish(frameResult('cam2', 0), counters(0));
    rig.hub.publish(frameResult('cam1', 1), counters(1));
    rig.hub.publish(frameResult('cam2', 1), counters(1));
    await last;
    assert.deepEqual(got.map((h) => `${h.streamId}/${h.frame}`), ['cam2/0', 'cam2/1']);
  } finally {
    c.close();
    await rig.close();
  }
});

test('a malformed message gets an error and the socket stays open', async () => {
  const rig = await startRig();
  const c = await client(rig);
  try {
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.code));
    let closed = false;
    c.on('close', () => {
      closed = true;
    });
    const e1 = c.once('error');
    c.sendRaw('this is not json');
    assert.equal((await e1).code, 'PROTOCOL_INVALID');
    const e2 = c.once('error');
    c.sendRaw(JSON.stringify({ type: 'subscribe', streams: 'everything' }));
    const second = await e2;
    assert.equal(second.code, 'PROTOCOL_INVALID');
    assert.match(second.message, /streams/);
    const pong = c.once('pong', (p) => p.id === 1);
    c.ping(1);
    await pong;
    assert.equal(closed, false);
    assert.equal(c.connected, true);
    assert.deepEqual(errors, ['PROTOCOL_INVALID', 'PROTOCOL_INVALID']);
  } finally {
    c.close();
    await rig.close();
  }
});

test('a message over the size limit closes that connection with 1009, and only that one', async () => {
  const rig = await startRig();
  const other = await client(rig);
  try {
    const raw = new WebSocket(rig.url);
    await new Promise((r) => raw.once('open', r));
    const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
    raw.send('x'.repeat(64 * 1024));
    assert.equal(await closed, 1009);
    const pong = other.once('pong', (p) => p.id === 'still-here');
    other.ping('still-here');
    await pong;
  } finally {
    other.close();
    await rig.close();
  }
});

test('stream events reach subscribers and the REST list', async () => {
  const rig = await startRig();
  const c = await client(rig);
  try {
    await subscribed(c, ['cam9']);
    const started = c.once('stream.started');
    const info = c.once('stream.info');
    const ended = c.once('stream.ended');
    rig.hub.streamStarted('cam9', 'rtmp', 1234);
    rig.hub.streamStarted('other', 'rtmp', 1234); // not subscribed: must not arrive before cam9's events
    rig.hub.streamInfo({ id: 'cam9', hasAudio: false, hasVideo: true, videoCodec: 'h264' });
    assert.deepEqual(await started, { type: 'stream.started', id: 'cam9', kind: 'rtmp', startedAtMs: 1234 });
    assert.equal((await info).hasAudio, false);
    const res = await fetch(`http://127.0.0.1:${rig.port}/api/streams`);
    const body = (await res.json()) as { streams: Array<{ id: string; state: string; hasAudio: boolean | null }> };
    assert.deepEqual(
      body.streams.map((s) => [s.id, s.state, s.hasAudio]),
      [
        ['cam9', 'live', false],
        ['other', 'starting', null],
      ],
    );
    rig.hub.streamEnded('cam9', 'publisher disconnected');
    assert.equal((await ended).reason, 'publisher disconnected');
    const after = (await (await fetch(`http://127.0.0.1:${rig.port}/api/streams`)).json()) as { streams: Array<{ id: string }> };
    assert.deepEqual(after.streams.map((s) => s.id), ['other']);
  } finally {
    c.close();
    await rig.close();
  }
});

test('a result still in flight when its stream ends does not reach clients after stream.ended', async () => {
  const rig = await startRig();
  const c = await client(rig);
  try {
    await subscribed(c, '*');
    const seen: string[] = [];
    c.on('heatmap', (h) => seen.push(`${h.streamId}/${h.frame}`));
    c.on('stream.ended', (m) => seen.push(`ended ${m.id}`));
    rig.hub.streamStarted('cam1', 'rtmp', Date.now());
    rig.hub.publish(frameResult('cam1', 0), counters(0));
    rig.hub.streamEnded('cam1', 'gone');
    rig.hub.publish(frameResult('cam1', 1), counters(1)); // late
    const marker = c.once('heatmap', (h) => h.streamId === 'cam2');
    rig.hub.publish(frameResult('cam2', 0), counters(0));
    await marker;
    assert.deepEqual(seen, ['cam1/0', 'ended cam1', 'cam2/0']);
  } finally {
    c.close();
    await rig.close();
  }
});

test('the client reconnects by itself after the server drops its socket, and re-subscribes', async () => {
  const rig = await startRig();
  const c = await client(rig);
  try {
    await subscribed(c, ['cam1'], { format: 'json' });
    const first = c.once('heatmap');
    rig.hub.publish(frameResult('cam1', 0), counters(0));
    assert.equal((await first).frame, 0);
    const reopened = c.once('open', (e) => e.reconnected);
    const resubscribed = c.once('streams');
    for (const s of rig.sockets) s.destroy(); // the server side drops every connection
    await reopened;
    await resubscribed;
    const next = c.once('heatmap');
    rig.hub.publish(frameResult('cam1', 1), counters(1));
    const h = await next;
    assert.equal(h.frame, 1);
    assert.equal(rig.hub.clientStats().length, 1, 'the dropped connection was forgotten');
  } finally {
    c.close();
    await rig.close();
  }
});

// ---- slow client ------------------------------------------------------------------------------

/** A WebSocket client on a bare TCP socket, so the test controls exactly when it reads. */
async function rawWsClient(port: number): Promise<{ sock: Socket; read: () => Buffer; consume: (n: number) => void }> {
  const sock = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  await new Promise((r) => sock.once('connect', r));
  sock.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  while (!Buffer.concat(chunks).includes('\r\n\r\n')) await new Promise((r) => sock.once('data', r));
  const all = Buffer.concat(chunks);
  assert.match(all.toString('latin1', 0, 12), /^HTTP\/1.1 101/);
  chunks.length = 0;
  chunks.push(all.subarray(all.indexOf('\r\n\r\n') + 4));
  return {
    sock,
    read: () => {
      const b = Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(b);
      return b;
    },
    consume: (n: number) => {
      const b = Buffer.concat(chunks).subarray(n);
      chunks.length = 0;
      chunks.push(b);
    },
  };
}

function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  assert.ok(payload.length < 126);
  const mask = randomBytes(4);
  const out = Buffer.alloc(2 + 4 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return out;
}

/** Parses unmasked server frames into whole messages (fragments joined). */
function parseFrames(b: Buffer): { messages: Array<{ binary: boolean; data: Buffer }>; rest: number } {
  const messages: Array<{ binary: boolean; data: Buffer }> = [];
  let off = 0;
  let parts: Buffer[] = [];
  let binary = false;
  let msgStart = 0;
  for (;;) {
    if (off + 2 > b.length) break;
    const b0 = b[off] ?? 0;
    const b1 = b[off + 1] ?? 0;
    let len = b1 & 0x7f;
    let hdr = 2;
    if (len === 126) {
      if (off + 4 > b.length) break;
      len = b.readUInt16BE(off + 2);
      hdr = 4;
    } else if (len === 127) {
      if (off + 10 > b.length) break;
      len = Number(b.readBigUInt64BE(off + 2));
      hdr = 10;
    }
    if (off + hdr + len > b.length) break;
    const opcode = b0 & 0x0f;
    if (opcode === 1 || opcode === 2) {
      binary = opcode === 2;
      parts = [];
    }
    parts.push(b.subarray(off + hdr, off + hdr + len));
    off += hdr + len;
    if (b0 & 0x80 && opcode <= 2) {
      messages.push({ binary, data: Buffer.concat(parts) });
      msgStart = off;
    }
  }
  return { messages, rest: msgStart };
}

test('a client that stops reading stays within its queue bound and its drops are counted', { timeout: 60_000 }, async () => {
  const HWM = 256 * 1024;
  const LIMIT = 8;
  const rig = await startRig({ heatmapQueueLimit: LIMIT, highWaterMarkBytes: HWM });
  const fast = await client(rig);
  const raw = await rawWsClient(rig.port);
  try {
    raw.sock.write(maskedText(JSON.stringify({ type: 'subscribe', streams: '*', format: 'binary', preview: true })));
    while (!raw.read().includes('"type":"streams"')) await new Promise((r) => raw.sock.once('data', r));
    raw.sock.pause(); // stop reading: the kernel buffers fill, then ws buffers, then the hub queue
    await subscribed(fast, '*', { format: 'binary', preview: false });
    const TOTAL = 2000;
    let fastCount = 0;
    fast.on('heatmap', () => fastCount++);
    const fastLast = fast.once('heatmap', (h) => h.frame === TOTAL - 1, 30_000);

    const jpeg = randomBytes(64 * 1024);
    const slowId = Math.max(...rig.hub.clientStats().map((s) => s.id)); // raw connected after `fast`
    const statsOf = () => rig.hub.clientStats().find((s) => s.id === slowId);
    const before = process.memoryUsage();
    let maxQueued = 0;
    let maxQueuedBytes = 0;
    let maxBuffered = 0;
    for (let i = 0; i < TOTAL; i++) {
      rig.hub.publish(frameResult('cam1', i, jpeg), counters(i));
      const s = statsOf();
      assert.ok(s);
      maxQueued = Math.max(maxQueued, s.queuedHeatmaps);
      maxQueuedBytes = Math.max(maxQueuedBytes, s.queuedBytes);
      maxBuffered = Math.max(maxBuffered, s.bufferedAmount);
      if (i % 50 === 49) await tick(); // let sockets make progress, as a live server would
    }
    const after = process.memoryUsage();
        const s = statsOf();
    assert.ok(s);
    const msgBytes = 64 * 1024 + 32 + 600; // preview + prefix + header and grid, roughly
    assert.ok(maxQueued <= LIMIT, `queued heatmaps ${maxQueued} > ${LIMIT}`);
    assert.ok(maxQueuedBytes <= LIMIT * msgBytes, `queued bytes ${maxQueuedBytes}`);
    assert.ok(maxBuffered <= HWM + msgBytes, `socket buffered ${maxBuffered} > high-water mark + one message`);
    assert.ok(s.queueDropped > TOTAL / 2, `drops counted: ${s.queueDropped}`);
    assert.equal(s.heatmapsSent + s.queueDropped + s.queuedHeatmaps, TOTAL, 'every heatmap was sent, dropped or is queued');
    assert.equal(rig.metrics.clientQueueDropped.get({ stream: 'cam1' }), s.queueDropped);
    assert.match(await rig.metrics.render(), new RegExp(`avloc_client_queue_dropped_total\\{stream="cam1"\\} ${s.queueDropped}`));
    // 2000 x 64 KiB went through the hub; a leak would keep >100 MiB. Generous, GC-independent-ish.
    const grown = after.arrayBuffers - before.arrayBuffers;
    assert.ok(grown < 64 * 1024 * 1024, `array buffers grew by ${grown} bytes`);

    // The fast client is not held back by the slow one: it gets the last frame.
    await fastLast;
    assert.ok(fastCount > 0);

    // Resume: the slow client drains, sees the newest frames, and its messages report its drops.
    raw.sock.resume();
    let last: Heatmap | undefined;
    while (!last || last.frame !== TOTAL - 1) {
      await new Promise((r) => raw.sock.once('data', r));
      const { messages, rest } = parseFrames(raw.read());
      raw.consume(rest); // parse each byte once
      const bins = messages.filter((m) => m.binary);
      const tail = bins[bins.length - 1];
      if (tail) last = decodeHeatmapBinary(tail.data);
    }
    assert.equal(last.counters.queueDropped, statsOf()?.queueDropped);
    assert.equal(last.preview?.length, jpeg.length);
  } finally {
    fast.close();
    raw.sock.destroy();
    await rig.close();
  }
});

test('live counters from the pipeline show in the stream list and metrics without a new result', async () => {
  const live = { decoded: 100, skipped: 60, dropped: 5, analyzed: 35 };
  const rig = await startRig({ countersOf: (id) => (id === 'cam1' ? live : undefined) });
  try {
    rig.hub.streamStarted('cam1', 'rtmp', Date.now());
    rig.hub.publish(frameResult('cam1', 0), counters(0));
    live.skipped = 61;
    assert.deepEqual(rig.hub.listStreams()[0]?.counters, live);
    assert.match(await rig.metrics.render(), /^avloc_frames_skipped_total\{stream="cam1"\} 61$/m);
  } finally {
    await rig.close();
  }
});

test('metrics and health over HTTP', async () => {
  const rig = await startRig();
  try {
    rig.metrics.recordBatch(2, 0.03);
    rig.metrics.recordBatch(1, 0.02);
    rig.hub.streamStarted('cam1', 'rtmp', Date.now());
    rig.hub.publish(frameResult('cam1', 0), counters(0));
    const m = await fetch(`http://127.0.0.1:${rig.port}/metrics`);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain; version=0.0.4/);
    const text = await m.text();
    assert.match(text, /^avloc_batches_total\{size="2"\} 1$/m);
    assert.match(text, /^avloc_inference_batch_size_bucket\{le="2"\} 2$/m);
    assert.match(text, /^avloc_frames_decoded_total\{stream="cam1"\} 1$/m);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    const h = (await (await fetch(`http://127.0.0.1:${rig.port}/api/health`)).json()) as Record<string, unknown>;
    assert.equal(h.ok, true);
    assert.equal(h.streams, 1);
    assert.deepEqual(h.model, { name: 'test', gridH: GRID.h, gridW: GRID.w });
    const nf = await fetch(`http://127.0.0.1:${rig.port}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  } finally {
    await rig.close();
  }
});
