import { createSocket, type Socket } from 'node:dgram';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpForwarder } from '../../src/ingest/whip/rtp-forwarder.ts';

/** A loopback UDP receiver that collects datagrams in arrival order. */
async function receiver(): Promise<{ socket: Socket; port: number; got: Buffer[]; next(n: number): Promise<Buffer[]> }> {
  const socket = createSocket('udp4');
  const got: Buffer[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (m) => {
    got.push(m);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const next = async (n: number) => {
    while (got.length < n) await new Promise<void>((r) => waiters.push(r));
    return got.splice(0, n);
  };
  return { socket, port: socket.address().port, got, next };
}

const rtp = (ts: number, ssrc: number) => {
  const b = Buffer.alloc(16);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
};

/** Decodes the NTP time of an RTCP SR into Unix milliseconds. */
const srWallMs = (sr: Buffer) => (sr.readUInt32BE(8) - 2_208_988_800) * 1000 + (sr.readUInt32BE(12) / 2 ** 32) * 1000;

test('a sender report goes ahead of the first packet on the same port, anchored at arrival time', async (t) => {
  const rx = await receiver();
  const fwd = await RtpForwarder.open({ port: rx.port, clockRate: 90000, senderReportIntervalMs: 0 });
  t.after(() => {
    fwd.close();
    fwd.close(); // idempotent
    rx.socket.close();
  });
  const before = Date.now();
  fwd.forward(rtp(1000, 1234), { ssrc: 1234, timestamp: 1000 });
  const [sr, media] = await rx.next(2);
  assert.equal(sr![1], 200);
  assert.equal(sr!.readUInt32BE(4), 1234);
  assert.equal(sr!.readUInt32BE(16), 1000);
  assert.ok(Math.abs(srWallMs(sr!) - before) < 1000, 'anchored at local wall time');
  assert.equal(media![1], 96);
  assert.equal(fwd.counters.packets, 1);
});

test('once the publisher reports its clock, audio and video forwarders describe the same instants', async (t) => {
  const rx = await receiver();
  const video = await RtpForwarder.open({ port: rx.port, clockRate: 90000, senderReportIntervalMs: 0 });
  const audio = await RtpForwarder.open({ port: rx.port, clockRate: 48000, senderReportIntervalMs: 0 });
  t.after(() => {
    video.close();
    audio.close();
    rx.socket.close();
  });
  video.forward(rtp(1000, 1), { ssrc: 1, timestamp: 1000 });
  audio.forward(rtp(4_294_960_000, 2), { ssrc: 2, timestamp: 4_294_960_000 });
  await rx.next(4);
  // The publisher says: at wall W its video clock read 1000 + 90000 and its audio clock 4294960000 + 48000.
  const W = 1_800_000_000_000;
  video.applyPublisherReport(W, 91_000);
  audio.applyPublisherReport(W, (4_294_960_000 + 48_000) >>> 0); // wraps past 2^32
  // Media from the same capture instant (W - 0.5 s) on both clocks must get the same NTP time.
  video.forward(rtp(46_000, 1), { ssrc: 1, timestamp: 46_000 });
  const [vsr] = await rx.next(2);
  audio.forward(rtp((4_294_960_000 + 24_000) >>> 0, 2), { ssrc: 2, timestamp: (4_294_960_000 + 24_000) >>> 0 });
  const [asr] = await rx.next(2);
  assert.ok(Math.abs(srWallMs(vsr!) - (W - 500)) < 1, `video SR at ${srWallMs(vsr!) - W} ms`);
  assert.ok(Math.abs(srWallMs(asr!) - (W - 500)) < 1, `audio SR at ${srWallMs(asr!) - W} ms`);
  assert.ok(video.counters.anchorCorrectionMs > 0);
});

test('a forwarder tells when ffmpeg starts listening on a port that refused its packets', async (t) => {
  const probe = await receiver();
  const port = probe.port;
  probe.socket.close(); // a free port nobody listens on, like ffmpeg before it starts
  await new Promise((r) => setTimeout(r, 50));
  let active = 0;
  const fwd = await RtpForwarder.open({ port, clockRate: 90000, onConsumerActive: () => active++ });
  let rx: Awaited<ReturnType<typeof receiver>> | undefined;
  t.after(() => {
    fwd.close();
    rx?.socket.close();
  });
  let ts = 0;
  const send = () => fwd.forward(rtp((ts += 3000), 9), { ssrc: 9, timestamp: ts });
  for (let i = 0; fwd.counters.refused === 0; i++) {
    assert.ok(i < 200, 'the kernel never refused the datagrams');
    send();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(active, 0);
  const listener = createSocket('udp4');
  await new Promise<void>((r) => listener.bind(port, '127.0.0.1', () => r()));
  rx = { socket: listener } as Awaited<ReturnType<typeof receiver>>;
  for (let i = 0; active === 0; i++) {
    assert.ok(i < 300, 'the listener was never noticed');
    send();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(active, 1);
});
