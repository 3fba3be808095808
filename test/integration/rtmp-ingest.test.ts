import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { after, test } from 'node:test';
import { firstValueFrom, filter, take, toArray, timeout } from 'rxjs';
import { RtmpIngest } from '../../src/ingest/rtmp-ingest.ts';
import { HANDSHAKE_LIMITS } from '../../src/ingest/rtmp/connection-guard.ts';
import type { Source, SourceEvent } from '../../src/media/source.ts';
import { createLogger } from '../../src/log.ts';
import { Decoder } from '../../src/media/decoder.ts';
import { resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';
import type { AudioChunk, VideoFrame } from '../../src/pipeline/types.ts';

/**
 * A real node-media-server on a free port, real ffmpeg publishers, and our Decoder reading the
 * stream back. node-media-server keeps process-wide state, so the tests run one ingest at a time.
 */
const ffmpeg = resolveFfmpeg();
const log = createLogger('test', 'warn');
const children = new Set<ChildProcess>();

after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function publish(url: string): ChildProcess {
  const child = spawn(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-f', 'flv', url,
  ], { stdio: 'ignore' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function nextEvent(ingest: RtmpIngest, type: SourceEvent['type'], ms = 15_000): Promise<SourceEvent> {
  return firstValueFrom(ingest.events$.pipe(filter((e) => e.type === type), take(1), timeout(ms)));
}

async function sendGarbage(port: number, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(bytes);
      // Give the server a moment to parse; it may close us, which is fine.
      setTimeout(() => s.destroy(), 200);
    });
    s.on('close', () => resolve());
    s.on('error', () => undefined);
  });
}

test('garbage on the RTMP port does not hurt: the server keeps running and accepts a real publisher', { timeout: 30_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: log, idleTimeoutMs: 1500 });
  await ingest.start();
  try {
    assert.ok(ingest.port > 0);
    const rnd = (n: number, seed: number) => {
      const b = Buffer.alloc(n);
      let x = seed;
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        b[i] = x >>> 24;
      }
      return b;
    };
    // Random bytes; a valid C0 (version 3) followed by noise that gets past the handshake; HTTP.
    await sendGarbage(ingest.port, rnd(4096, 1));
    const pastHandshake = Buffer.concat([Buffer.from([3]), rnd(1536 * 2, 2), rnd(8192, 3)]);
    await sendGarbage(ingest.port, pastHandshake);
    await sendGarbage(ingest.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    // A well-formed handshake and an RTMP `connect` without tcUrl: node-media-server throws inside
    // its socket 'data' listener (new URL(undefined)); unguarded, that kills the whole process.
    const str = (v: string) => Buffer.concat([Buffer.from([0x02, 0, v.length]), Buffer.from(v)]);
    const key = (k: string) => Buffer.concat([Buffer.from([0, k.length]), Buffer.from(k)]);
    const num = Buffer.alloc(9);
    num.writeDoubleBE(1, 1);
    const amf = Buffer.concat([str('connect'), num, Buffer.from([0x03]), key('app'), str('live'), Buffer.from([0, 0, 9])]);
    const header = Buffer.from([0x03, 0, 0, 0, 0, 0, amf.length, 0x14, 0, 0, 0, 0]);
    // (The noise past the handshake above may already count: its random chunk headers announce
    // messages over the pre-publish limit, RTMP_LIMITS.)
    const bad = ingest.badConnections;
    await sendGarbage(ingest.port, Buffer.concat([Buffer.from([3]), rnd(1536, 4), rnd(1536, 5), header, amf]));
    assert.equal(ingest.badConnections, bad + 1, 'the throwing connection was caught and closed');
    // A client that connects and never speaks is closed by the server after the idle timeout.
    const silent = net.connect(ingest.port, '127.0.0.1');
    silent.on('error', () => undefined);
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));

    const pub = publish(`rtmp://127.0.0.1:${ingest.port}/live/after-garbage`);
    const started = await nextEvent(ingest, 'started');
    assert.ok(started.type === 'started' && started.source.id === 'after-garbage');
    pub.kill('SIGKILL');
    const ended = await nextEvent(ingest, 'ended');
    assert.ok(ended.type === 'ended' && ended.id === 'after-garbage');
  } finally {
    await ingest.close();
  }
});

test('publish → started Source, decoded to frames and audio; publisher leaves → ended', { timeout: 30_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: log });
  await ingest.start();
  let decoder: Decoder | null = null;
  try {
    const startedP = nextEvent(ingest, 'started');
    const pub = publish(`rtmp://127.0.0.1:${ingest.port}/live/cam1`);
    const started = await startedP;
    assert.equal(started.type, 'started');
    const source = (started as { source: Source }).source;
    assert.equal(source.id, 'cam1');
    assert.equal(source.kind, 'rtmp');
    assert.equal(source.live, true);
    assert.equal(source.ffmpegInput.at(-2), '-i');
    assert.match(String(source.ffmpegInput.at(-1)), new RegExp(`^rtmp://127\\.0\\.0\\.1:${ingest.port}/live/cam1\\?key=[A-Za-z0-9_-]{24}$`));
    assert.deepEqual(ingest.sources().map((s) => s.id), ['cam1']);

    decoder = new Decoder({ source, width: 64, height: 64, sampleRate: 16000, previewHeight: 120, ffmpegPath: ffmpeg, logger: log });
    const framesP = firstValueFrom(decoder.frames$.pipe(take(15), toArray(), timeout(15_000)));
    const audioP = firstValueFrom(decoder.audio$.pipe(take(25), toArray(), timeout(15_000)));
    decoder.start();
    const frames: VideoFrame[] = await framesP;
    const audio: AudioChunk[] = await audioP;
    assert.equal(frames.length, 15);
    for (const f of frames) assert.equal(f.rgb.length, 64 * 64 * 3);
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.ptsMs > frames[i - 1]!.ptsMs);
    assert.ok(frames.every((f) => f.jpeg !== undefined), 'previews arrive with the frames');
    assert.ok(audio.some((a) => a.samples.some((v) => Math.abs(v) > 0.1)), 'the sine is in the audio');
    assert.equal(decoder.streamInfo?.hasAudio, true);

    const endedP = nextEvent(ingest, 'ended');
    pub.kill('SIGKILL');
    const ended = await endedP;
    assert.ok(ended.type === 'ended' && ended.id === 'cam1' && /disconnected/.test(ended.reason));
    assert.deepEqual(ingest.sources(), []);
  } finally {
    await decoder?.close();
    await ingest.close();
  }
});

test('only app "live", one publisher per id, and Source.close() kicks the publisher', { timeout: 20_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: log });
  await ingest.start();
  try {
    const events: SourceEvent[] = [];
    ingest.events$.subscribe((e) => events.push(e));

    const wrongApp = publish(`rtmp://127.0.0.1:${ingest.port}/other/cam2`);
    assert.notEqual(await exited(wrongApp), 0, 'a publisher to another app is refused');

    const startedP = nextEvent(ingest, 'started');
    const first = publish(`rtmp://127.0.0.1:${ingest.port}/live/cam2`);
    const started = await startedP;
    const second = publish(`rtmp://127.0.0.1:${ingest.port}/live/cam2`);
    assert.notEqual(await exited(second), 0, 'a second publisher for a live id is refused');
    assert.equal(first.exitCode, null, 'the first publisher is untouched');

    const endedP = nextEvent(ingest, 'ended');
    const source = (started as { source: Source }).source;
    await Promise.all([source.close(), source.close()]);
    const ended = await endedP;
    assert.ok(ended.type === 'ended' && ended.id === 'cam2' && /closed by the service/.test(ended.reason));
    assert.notEqual(await exited(first), 0, 'the kicked publisher sees its connection drop');
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.type === 'started' ? e.source.id : e.id}`),
      ['started:cam2', 'ended:cam2'],
    );
    // Playing a stream that is no longer live is refused at once (NMS alone would park the player).
    const late = new Decoder({ source, width: 32, height: 32, sampleRate: 16000, ffmpegPath: ffmpeg, logger: createLogger('test', 'silent'), restart: { maxAttempts: 0 } });
    late.start();
    const end = await late.done;
    assert.equal(end.reason, 'failed');
    assert.equal(end.error?.code, 'FFMPEG_EXITED');
    // close() must not wait for open connections to leave by themselves (the idle timeout is 30 s,
    // longer than this test's timeout): a client that is still connected gets disconnected.
    const lingering = net.connect(ingest.port, '127.0.0.1');
    lingering.on('error', () => undefined);
    await new Promise<void>((r) => lingering.once('connect', () => r()));
    const lingeringClosed = new Promise<void>((r) => lingering.once('close', () => r()));
    await ingest.close();
    await lingeringClosed;
  } finally {
    await ingest.close();
  }
});

test('a busy port is a clear start() error, and the process keeps running', { timeout: 30_000 }, async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  const ingest = new RtmpIngest({ port, host: '127.0.0.1', logger: log });
  try {
    await assert.rejects(ingest.start(), (err: unknown) => err instanceof Error && /cannot listen.*EADDRINUSE/.test(err.message));
    // The failed ingest released node-media-server: a new one can start.
    const again = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: log });
    await again.start();
    await again.close();
  } finally {
    await ingest.close();
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});

test('a player that stops reading is cut off past the relay limit (counted); the publisher stays live', { timeout: 45_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: log, relayLimitBytes: 256 * 1024 });
  await ingest.start();
  try {
    const startedP = nextEvent(ingest, 'started');
    // Lossless x264 of a noisy picture: tens of Mbit/s, so the kernel's socket buffers fill in seconds.
    const pub = spawn(ffmpeg, [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25,noise=alls=80:allf=t',
      '-t', '40', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '25', '-pix_fmt', 'yuv420p',
      '-f', 'flv', `rtmp://127.0.0.1:${ingest.port}/live/heavy`,
    ], { stdio: 'ignore' });
    children.add(pub);
    const heavy = (await startedP) as { source: Source };
    // A player like our decoder's ffmpeg (same input arguments), frozen with SIGSTOP after it starts reading.
    const player = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...heavy.source.ffmpegInput, '-f', 'null', '-'], { stdio: 'ignore' });
    children.add(player);
    await new Promise((r) => setTimeout(r, 1500));
    player.kill('SIGSTOP');
    for (let i = 0; i < 250 && ingest.relayOverflows === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(ingest.relayOverflows, 1, 'the stalled player was cut off once');
    assert.deepEqual(ingest.sources().map((s) => s.id), ['heavy'], 'the publisher is untouched');
    player.kill('SIGCONT');
    // The player's connection is gone (ffmpeg sees end of stream and exits) while the publisher still runs.
    await exited(player);
    assert.equal(pub.exitCode, null, 'the publisher is still publishing');
    pub.kill('SIGKILL');
  } finally {
    await ingest.close();
  }
});

test('regression: a second publisher of a live id cannot put a frame into it, and is disconnected', { timeout: 40_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: log });
  await ingest.start();
  try {
    const startedP = nextEvent(ingest, 'started');
    const owner = publish(`rtmp://127.0.0.1:${ingest.port}/live/cam5`);
    const cam5 = (await startedP) as { source: Source };
    // A player that prints every frame's size (showinfo), as the decoder would read the stream.
    const player = spawn(ffmpeg, ['-hide_banner', ...cam5.source.ffmpegInput,
      '-an', '-vf', 'showinfo', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(player);
    const sizes: string[] = [];
    let tail = '';
    player.stderr!.on('data', (d: Buffer) => {
      const lines = (tail + d.toString()).split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) {
        const m = / s:(\d+x\d+) /.exec(l);
        if (m && l.includes('n:')) sizes.push(m[1]!);
      }
    });
    for (let i = 0; i < 100 && sizes.length < 10; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(sizes.length >= 10, 'the player reads the owner\'s frames');
    // The intruder: another picture size, so any of its frames would show.
    const intruder = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'smptebars=size=640x480:rate=15',
      '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-f', 'flv',
      `rtmp://127.0.0.1:${ingest.port}/live/cam5`], { stdio: 'ignore' });
    children.add(intruder);
    const t0 = Date.now();
    const code = await exited(intruder);
    assert.notEqual(code, 0, 'the intruder is refused');
    assert.ok(Date.now() - t0 < 2500, `and disconnected at once, not after its 3 s of media (${Date.now() - t0} ms)`);
    const before = sizes.length;
    for (let i = 0; i < 50 && sizes.length < before + 25; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(sizes.length >= before + 25, 'the owner\'s frames keep coming after the intrusion');
    assert.deepEqual([...new Set(sizes)], ['320x240'], 'not one frame of the intruder reached the stream');
    assert.equal(owner.exitCode, null, 'the owner is still publishing');
    assert.deepEqual(ingest.sources().map((s) => s.id), ['cam5']);
    player.kill('SIGKILL');
    owner.kill('SIGKILL');
  } finally {
    await ingest.close();
  }
});

/**
 * A raw RTMP peer: the plain handshake (C0 C1, then C2 once S0 S1 S2 are in), then `afterHandshake`
 * (it may write). Resolves when the server closes the connection, or after `ms`.
 */
async function rawPeer(port: number, afterHandshake: (s: net.Socket) => void, ms: number): Promise<{ closed: boolean; afterMs: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    let done = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ closed: false, afterMs: Date.now() - t0 });
    }, ms);
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])));
    s.on('data', (d) => {
      got += d.length;
      if (!done && got >= 1 + 1536 * 2) {
        done = true;
        s.write(Buffer.alloc(1536));
        afterHandshake(s);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, afterMs: Date.now() - t0 });
    });
  });
}

test('regression: chunk headers announcing 16 MB messages on fresh chunk streams are cut off before NMS allocates for them', { timeout: 40_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: createLogger('test', 'error') });
  await ingest.start();
  try {
    // 256 chunk streams (2-byte basic headers), each a type-0 header announcing a 16 MiB video message.
    const headers = Buffer.concat(Array.from({ length: 256 }, (_, i) =>
      Buffer.from([0x00, i, 0, 0, 0, 0xff, 0xff, 0xff, 0x09, 1, 0, 0, 0])));
    const before = process.memoryUsage().arrayBuffers;
    const results = await Promise.all([0, 1, 2].map(() => rawPeer(ingest.port, (s) => s.write(headers), 5000)));
    const grown = process.memoryUsage().arrayBuffers - before;
    for (const r of results) assert.ok(r.closed && r.afterMs < 3000, `the peer is disconnected at once (${JSON.stringify(r)})`);
    assert.ok(grown < 64 * 1024 * 1024, `external memory grew by ${(grown / 1e6).toFixed(0)} MB`);
    assert.ok(ingest.badConnections >= 3, 'each was counted as a bad connection');
    // A real publisher is unaffected: its frames are far below the publisher's limit.
    const startedP = nextEvent(ingest, 'started');
    const pub = publish(`rtmp://127.0.0.1:${ingest.port}/live/after`);
    await startedP;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pub.exitCode, null, 'the real publisher keeps publishing');
    pub.kill('SIGKILL');
  } finally {
    await ingest.close();
  }
});

test('regression: a peer that handshakes and then only dribbles bytes is closed at the handshake deadline', { timeout: 20_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: createLogger('test', 'error'), handshakeTimeoutMs: 1000 });
  await ingest.start();
  try {
    // one byte of a chunk header every 200 ms: never idle, never a whole message
    let drip: ReturnType<typeof setInterval> | undefined;
    const r = await rawPeer(ingest.port, (s) => {
      drip = setInterval(() => s.write(Buffer.from([0x03])), 200);
    }, 10_000);
    clearInterval(drip);
    const closedAfter = r.afterMs;
    assert.ok(r.closed && closedAfter >= 900 && closedAfter < 4000, `closed after ${closedAfter} ms (deadline 1000 ms, idle timeout 30 s)`);
    const startedP = nextEvent(ingest, 'started');
    const pub = publish(`rtmp://127.0.0.1:${ingest.port}/live/in-time`);
    await startedP;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pub.exitCode, null, 'a publisher that publishes in time outlives the deadline');
    pub.kill('SIGKILL');
  } finally {
    await ingest.close();
  }
});

test('a flood of connections that never publish is bounded per address, and a flood of bytes before publishing is cut off', { timeout: 30_000 }, async () => {
  const ingest = new RtmpIngest({ port: 0, host: '127.0.0.1', logger: createLogger('test', 'error') });
  await ingest.start();
  const held: net.Socket[] = [];
  try {
    // HANDSHAKE_LIMITS.perAddress idle connections from this address are held (until the handshake deadline)...
    for (let i = 0; i < HANDSHAKE_LIMITS.perAddress; i++) {
      const s = net.connect(ingest.port, '127.0.0.1');
      s.on('error', () => undefined);
      held.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    await new Promise((r) => setTimeout(r, 200));
    // ...the next one is closed at once, before NMS sees it.
    const extra = await rawPeer(ingest.port, () => undefined, 5000);
    assert.ok(extra.closed && extra.afterMs < 1000, `refused at once (${JSON.stringify(extra)})`);
    assert.ok(ingest.handshakeRefusals >= 1);
    for (const s of held.splice(0)) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    // A peer that handshakes and then streams zeros (parseable, never a command) past the byte budget.
    let pump: ReturnType<typeof setInterval> | undefined;
    const before = ingest.handshakeRefusals;
    const flood = await rawPeer(ingest.port, (s) => {
      pump = setInterval(() => s.write(Buffer.alloc(64 * 1024)), 5);
    }, 10_000);
    clearInterval(pump);
    assert.ok(flood.closed && flood.afterMs < 5000, `cut off (${JSON.stringify(flood)})`);
    assert.ok(ingest.handshakeRefusals > before || ingest.badConnections > 0, 'counted');
    // The slots are free again: a real publisher gets in.
    const startedP = nextEvent(ingest, 'started');
    const pub = publish(`rtmp://127.0.0.1:${ingest.port}/live/after-flood`);
    await startedP;
    pub.kill('SIGKILL');
  } finally {
    for (const s of held) s.destroy();
    await ingest.close();
  }
});
