import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { Decoder } from '../../src/media/decoder.ts';
import type { DecoderEvent } from '../../src/media/decoder/events.ts';
import type { DecoderOptions } from '../../src/media/decoder/options.ts';
import { resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';
import type { AudioChunk, VideoFrame } from '../../src/pipeline/types.ts';

/**
 * Real ffmpeg on clips generated here (lavfi sources), read back through the Decoder.
 * Clips are tiny (160x120, a few seconds) so the file stays well under 30 s on two cores.
 */
const exec = promisify(execFile);
const ffmpeg = resolveFfmpeg();
const dir = mkdtempSync(join(tmpdir(), 'avloc-decoder-'));
const log = createLogger('test', 'warn');
const W = 64;
const H = 48;
const RATE = 16000;

async function makeClip(name: string, args: string[]): Promise<string> {
  const out = join(dir, name);
  await exec(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...args, out]);
  return out;
}

interface Collected {
  frames: VideoFrame[];
  audio: AudioChunk[];
  events: DecoderEvent[];
  /** Kinds in arrival order across the three observables ('frame', 'audio', event types). */
  order: string[];
  decoder: Decoder;
}

function collect(file: string, extra: Partial<DecoderOptions> = {}, live = false, inputOptions: string[] = []): Collected {
  const decoder = new Decoder({ source: { id: 't', ffmpegInput: [...inputOptions, '-i', file], live }, width: W, height: H, sampleRate: RATE, ffmpegPath: ffmpeg, logger: log, ...extra });
  const c: Collected = { frames: [], audio: [], events: [], order: [], decoder };
  decoder.frames$.subscribe((f) => (c.frames.push(f), c.order.push('frame')));
  decoder.audio$.subscribe((a) => (c.audio.push(a), c.order.push('audio')));
  decoder.events$.subscribe((e) => (c.events.push(e), c.order.push(e.type)));
  decoder.start();
  return c;
}

function isGone(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Width and height from a JPEG's SOF0 segment. */
function jpegSize(jpeg: Uint8Array): { width: number; height: number } | null {
  const b = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  let p = 2;
  while (p + 9 < b.length) {
    const marker = b[p + 1]!;
    if (marker >= 0xc0 && marker <= 0xc2) return { height: b.readUInt16BE(p + 5), width: b.readUInt16BE(p + 7) };
    p += 2 + b.readUInt16BE(p + 2);
  }
  return null;
}

let basic: string;
before(async () => {
  basic = await makeClip('basic.mp4', [
    '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
  ]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('file: frame count, model size, pts at the source fps, audio ≈ duration × rate, previews', { timeout: 30_000 }, async () => {
  const c = collect(basic, { previewHeight: 96 });
  const end = await c.decoder.done;
  assert.equal(end.reason, 'eof');
  assert.equal(c.frames.length, 50);
  c.frames.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.equal(f.rgb.length, W * H * 3);
    assert.ok(Math.abs(f.ptsMs - i * 40) < 0.5, `frame ${i} pts ${f.ptsMs}`);
    assert.ok(f.jpeg && f.jpeg[0] === 0xff && f.jpeg[1] === 0xd8 && f.jpeg.at(-1) === 0xd9, 'each frame has its JPEG');
    assert.deepEqual(jpegSize(f.jpeg), { width: 128, height: 96 }, 'preview keeps the 4:3 aspect at the asked height');
    assert.ok(f.captureAtMs - c.frames[0]!.captureAtMs - f.ptsMs < 1e-6, 'captureAt follows pts');
  });
  const samples = c.audio.reduce((n, a) => n + a.samples.length, 0);
  assert.ok(Math.abs(samples - 2 * RATE) < RATE * 0.05, `audio samples ${samples}`);
  const info = c.events.find((e) => e.type === 'info');
  assert.ok(info && info.type === 'info' && info.info.hasVideo && info.info.hasAudio && info.info.fps === 25 && info.info.videoCodec === 'h264');
  // Audio chunks are contiguous: each starts where the previous ended.
  for (let i = 1; i < c.audio.length; i++) {
    const prev = c.audio[i - 1]!;
    assert.ok(Math.abs(c.audio[i]!.ptsMs - (prev.ptsMs + (prev.samples.length * 1000) / RATE)) < 1e-6);
  }
  assert.equal(c.audio[0]!.ptsMs, 0);
  assert.ok(isGone(c.decoder.pid));
  // Regression guard: consumers (av-sync) wait for `info` to learn whether there is audio.
  assert.equal(c.order[0], 'info', 'stream info comes before any frame or audio');
  assert.equal(c.order.at(-1), 'ended');
});

test('alignment: a white flash and a 1 kHz tone that start together (audio track starting 0.5 s late) line up within one frame', { timeout: 30_000 }, async () => {
  // Video: black, white from t = 1.5 s. Audio: its own track begins 0.5 s after the video
  // (-itsoffset), with the tone at 1.0 s of the track, i.e. at 1.5 s on the shared timeline.
  const file = await makeClip('flash.mp4', [
    '-f', 'lavfi', '-i', "color=c=black:s=160x120:r=25:d=3,drawbox=c=white:t=fill:enable='gte(t,1.5)'",
    '-itsoffset', '0.5', '-f', 'lavfi', '-i', "aevalsrc='if(gte(t,1.0),sin(2*PI*1000*t),0)':s=44100:d=2.5",
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
  ]);
  const c = collect(file);
  assert.equal((await c.decoder.done).reason, 'eof');
  const mean = (f: VideoFrame) => f.rgb.reduce((s, v) => s + v, 0) / f.rgb.length;
  const bright = c.frames.find((f) => mean(f) > 128);
  assert.ok(bright, 'a bright frame');
  let loudMs: number | null = null;
  for (const a of c.audio) {
    const i = a.samples.findIndex((v) => Math.abs(v) > 0.3);
    if (i >= 0) {
      loudMs = a.ptsMs + (i * 1000) / RATE;
      break;
    }
  }
  assert.ok(loudMs !== null, 'a loud sample');
  assert.ok(Math.abs(bright.ptsMs - loudMs) < 40, `flash at ${bright.ptsMs} ms, tone at ${loudMs} ms`);
  // The late audio start is filled with silence from 0, so sample i is at i / rate.
  assert.equal(c.audio[0]!.ptsMs, 0);
  const total = c.audio.reduce((n, a) => n + a.samples.length, 0);
  assert.ok(Math.abs(total - 3 * RATE) < RATE * 0.05, `audio covers the whole clip: ${total} samples`);
});

test('alignment: the same when the video track starts 0.5 s after the audio', { timeout: 30_000 }, async () => {
  // Now the audio starts first: the shared origin is the audio's start, the first frame is at ~0.5 s.
  const file = await makeClip('flash-late-video.mp4', [
    '-itsoffset', '0.5', '-f', 'lavfi', '-i', "color=c=black:s=160x120:r=25:d=2.5,drawbox=c=white:t=fill:enable='gte(t,1.0)'",
    '-f', 'lavfi', '-i', "aevalsrc='if(gte(t,1.5),sin(2*PI*1000*t),0)':s=44100:d=3",
    // passthrough: mp4 defaults to constant frame rate, which would fill the 0.5 s with copies.
    '-vsync', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
  ]);
  const c = collect(file);
  assert.equal((await c.decoder.done).reason, 'eof');
  assert.ok(Math.abs(c.frames[0]!.ptsMs - 500) < 40, `first frame at ${c.frames[0]!.ptsMs} ms`);
  const mean = (f: VideoFrame) => f.rgb.reduce((sum, v) => sum + v, 0) / f.rgb.length;
  const bright = c.frames.find((f) => mean(f) > 128);
  const loud = c.audio.flatMap((a) => {
    const i = a.samples.findIndex((v) => Math.abs(v) > 0.3);
    return i >= 0 ? [a.ptsMs + (i * 1000) / RATE] : [];
  })[0];
  assert.ok(bright && loud !== undefined);
  assert.ok(Math.abs(bright.ptsMs - loud) < 40, `flash at ${bright.ptsMs} ms, tone at ${loud} ms`);
});

test('variable frame rate: pts follow the source timestamps, no duplicated frames', { timeout: 30_000 }, async () => {
  // 10 frames 40 ms apart, then 10 frames 120 ms apart (in ticks of the
  // source's 1/25 s time base, so every timestamp is exact).
  const file = await makeClip('vfr.mkv', [
    '-f', 'lavfi', '-i', "testsrc2=size=160x120:rate=25,trim=end_frame=20,setpts='if(lt(N,10),N,10+(N-10)*3)'",
    '-vsync', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
  ]);
  const c = collect(file);
  assert.equal((await c.decoder.done).reason, 'eof');
  assert.equal(c.frames.length, 20);
  const expected = Array.from({ length: 20 }, (_, n) => (n < 10 ? n * 40 : 400 + (n - 10) * 120));
  c.frames.forEach((f, i) => assert.ok(Math.abs(f.ptsMs - expected[i]!) < 1.5, `frame ${i}: ${f.ptsMs} vs ${expected[i]}`));
});

test('no audio track: frames still come, hasAudio=false, no audio chunks', { timeout: 30_000 }, async () => {
  const file = await makeClip('noaudio.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
  const c = collect(file, { previewHeight: 360 });
  assert.equal((await c.decoder.done).reason, 'eof');
  assert.equal(c.frames.length, 10);
  assert.equal(c.audio.length, 0);
  const info = c.events.find((e) => e.type === 'info');
  assert.ok(info && info.type === 'info' && info.info.hasVideo && !info.info.hasAudio && !info.info.audioDecoded);
  assert.equal(c.decoder.counters.restarts, 0, 'dropping the missing track is not a restart');
  assert.deepEqual(jpegSize(c.frames[0]!.jpeg!), { width: 160, height: 120 }, 'a small source is not upscaled for its preview');
});

test('no video track: STREAM_NO_VIDEO and the decoder stops', { timeout: 30_000 }, async () => {
  const file = await makeClip('novideo.m4a', ['-f', 'lavfi', '-i', 'sine=sample_rate=16000', '-t', '1', '-c:a', 'aac']);
  const c = collect(file);
  const end = await c.decoder.done;
  assert.equal(end.reason, 'failed');
  assert.equal(end.error?.code, 'STREAM_NO_VIDEO');
  assert.equal(c.frames.length, 0);
  assert.ok(c.events.some((e) => e.type === 'error' && e.error.code === 'STREAM_NO_VIDEO'));
  assert.ok(isGone(c.decoder.pid));
});

test('garbage input: DECODE_FAILED with the ffmpeg stderr tail, and the process is gone', { timeout: 30_000 }, async () => {
  const file = join(dir, 'garbage.bin');
  const bytes = Buffer.alloc(64 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  writeFileSync(file, bytes);
  const c = collect(file);
  const pid = c.decoder.pid;
  assert.ok(pid !== undefined);
  const end = await c.decoder.done;
  assert.equal(end.error?.code, 'DECODE_FAILED');
  assert.match(end.error?.message ?? '', /Invalid data|could not find|garbage/i);
  assert.ok(isGone(pid), 'ffmpeg exited');
});

test('live input that cannot be decoded is retried under the restart policy, then fails DECODE_FAILED; its URL secrets never show', { timeout: 30_000 }, async () => {
  // A `?key=` in the input's name as the service's RTMP play URLs carry one: ffmpeg echoes it in its error.
  const file = join(dir, 'garbage-live?key=play-secret-123');
  const bytes = Buffer.alloc(64 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2246822519) >>> 24;
  writeFileSync(file, bytes);
  const c = collect(file, { restart: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 50 } }, true);
  const end = await c.decoder.done;
  assert.equal(end.error?.code, 'DECODE_FAILED');
  assert.match(end.error?.message ?? '', /cannot be decoded \(3 tries\)/);
  assert.equal(c.decoder.counters.restarts, 2, 'two restarts before giving up');
  assert.doesNotMatch(end.error?.message ?? '', /play-secret-123/);
  assert.match(end.error?.message ?? '', /garbage-live\?key=\*\*\*/, 'the name is there, its secret is not');
  assert.ok(c.events.filter((e) => e.type === 'restart').length === 2);
});

test('live source that dies restarts with backoff; index, pts and audio continue monotonic', { timeout: 30_000 }, async () => {
  // A "live" source that ends after 0.4 s each time: every run ends, the decoder restarts it.
  const short = await makeClip('short.mp4', [
    '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine=sample_rate=16000',
    '-t', '0.4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
  ]);
  const c = collect(short, { restart: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 } }, true);
  await new Promise<void>((resolve) => {
    const sub = c.decoder.events$.subscribe((e) => {
      if (e.type === 'restart' && e.attempt >= 1 && c.decoder.counters.restarts >= 2) {
        sub.unsubscribe();
        resolve();
      }
    });
  });
  const pid = c.decoder.pid;
  await c.decoder.close();
  assert.equal((await c.decoder.done).reason, 'closed');
  assert.ok(isGone(pid));
  assert.ok(c.frames.length >= 20, `frames from at least two runs: ${c.frames.length}`);
  c.frames.forEach((f, i) => assert.equal(f.index, i));
  for (let i = 1; i < c.frames.length; i++) assert.ok(c.frames[i]!.ptsMs > c.frames[i - 1]!.ptsMs, `pts monotonic at ${i}`);
  assert.ok(c.events.some((e) => e.type === 'resumed'), 'a restarted run that delivers frames says so');
  for (let i = 1; i < c.audio.length; i++) {
    const prev = c.audio[i - 1]!;
    assert.ok(Math.abs(c.audio[i]!.ptsMs - (prev.ptsMs + (prev.samples.length * 1000) / RATE)) < 1e-6, `audio contiguous at chunk ${i}`);
  }
  // The second run starts where the first ended: its first frame is one period after the last one.
  // Each run is 10 frames (0.4 s at 25 fps); the second starts where the first ended: after its
  // last frame + one period, or after its audio if that ran longer (AAC pads to 64 ms frames here).
  const gap = c.frames[10]!.ptsMs - c.frames[9]!.ptsMs;
  assert.ok(gap >= 39 && gap < 120, `gap across the restart: ${gap} ms`);
});

test('close() mid-stream kills ffmpeg, completes the observables and is idempotent', { timeout: 30_000 }, async () => {
  // A real-time read (-re) so ffmpeg is still running when we close.
  const d = new Decoder({ source: { id: 'rt', ffmpegInput: ['-re', '-i', basic], live: false }, width: W, height: H, sampleRate: RATE, ffmpegPath: ffmpeg, logger: log });
  let completed = false;
  const frames: VideoFrame[] = [];
  d.frames$.subscribe({ next: (f) => frames.push(f), complete: () => (completed = true) });
  d.start();
  await new Promise<void>((resolve) => {
    const sub = d.frames$.subscribe(() => {
      sub.unsubscribe();
      resolve();
    });
  });
  const pid = d.pid;
  await Promise.all([d.close(), d.close()]);
  assert.equal((await d.done).reason, 'closed');
  assert.ok(completed);
  assert.ok(frames.length < 50, 'stopped before the end of the clip');
  assert.ok(isGone(pid));
});

/** An even UDP port whose neighbour (RTCP) is free too, as ffmpeg's RTP demuxer wants. */
async function freeRtpPort(): Promise<number> {
  for (;;) {
    const a = dgram.createSocket('udp4');
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    const p = a.address().port & ~1;
    a.close();
    const socks = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    const ok = await Promise.all(
      socks.map((s, i) => new Promise<boolean>((r) => {
        s.once('error', () => r(false));
        s.bind(p + i, '127.0.0.1', () => r(true));
      })),
    );
    await Promise.all(socks.map((s) => new Promise<void>((r) => { try { s.close(() => r()); } catch { r(); } })));
    if (ok.every(Boolean)) return p;
  }
}

test('live RTP input described by an SDP file (what WHIP ingest hands over): frames, audio, clean close', { timeout: 30_000 }, async () => {
  const vport = await freeRtpPort();
  let aport = await freeRtpPort();
  while (aport === vport) aport = await freeRtpPort();
  const sdp = join(dir, 'in.sdp');
  writeFileSync(sdp, [
    'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=test', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=video ${vport} RTP/AVP 96`, 'a=rtpmap:96 VP8/90000',
    `m=audio ${aport} RTP/AVP 97`, 'a=rtpmap:97 opus/48000/2', '',
  ].join('\n'));
  const c = collect(sdp, {}, true, ['-protocol_whitelist', 'file,udp,rtp']);
  const stopped = c.decoder.done.then((end) => {
    throw new Error(`decoder stopped early: ${end.reason} ${end.error?.message ?? ''}`);
  });
  stopped.catch(() => undefined);
  const senders: ChildProcess[] = [];
  const send = (args: string[]) => senders.push(spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-re', ...args, '-t', '10'], { stdio: 'ignore' }));
  // ffmpeg (the reader) should own the ports before the senders start; if it does not yet, the
  // first packets are lost, which a live reader tolerates anyway.
  await new Promise((r) => setTimeout(r, 300));
  send(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-c:v', 'libvpx', '-deadline', 'realtime', '-g', '25', '-f', 'rtp', '-payload_type', '96', `rtp://127.0.0.1:${vport}`]);
  send(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:a', 'libopus', '-f', 'rtp', '-payload_type', '97', `rtp://127.0.0.1:${aport}`]);
  try {
    await Promise.race([
      stopped,
      new Promise<void>((resolve) => {
        const sub = c.decoder.frames$.subscribe(() => c.frames.length >= 25 && (sub.unsubscribe(), resolve()));
      }),
    ]);
    const info = c.decoder.streamInfo;
    assert.equal(info?.videoCodec, 'vp8');
    assert.equal(info?.audioDecoded, true);
    for (let i = 1; i < c.frames.length; i++) assert.ok(c.frames[i]!.ptsMs > c.frames[i - 1]!.ptsMs);
    assert.ok(c.audio.some((a) => a.samples.some((v) => Math.abs(v) > 0.1)), 'the sine arrives');
  } finally {
    for (const s of senders) s.kill('SIGKILL');
    const pid = c.decoder.pid;
    await c.decoder.close();
    assert.ok(isGone(pid));
  }
});

/** Mean gray level of a JPEG, decoded by ffmpeg itself (the test has no other JPEG decoder). */
async function jpegGray(jpeg: Uint8Array): Promise<number> {
  const p = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'mjpeg', '-i', 'pipe:0', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
  const out: Buffer[] = [];
  p.stdout.on('data', (b: Buffer) => out.push(b));
  p.stdin.end(Buffer.from(jpeg));
  await new Promise((resolve) => p.on('close', resolve));
  return Buffer.concat(out)[0] ?? -1;
}

for (const rate of ['30', '30000/1001']) {
  test(`preview rate cap (${rate} fps source, 10 previews/s): JPEGs only on the frames ffmpeg kept, each paired with its own frame`, { timeout: 30_000 }, async () => {
    // Every frame a different flat gray (7 levels apart), so a preview shows which frame it is.
    const file = await makeClip(`gray-${rate.replace('/', '-')}.mp4`, [
      '-f', 'lavfi', '-i', `color=c=black:s=160x120:r=${rate},geq=lum='16+7*N':cb=128:cr=128,trim=end_frame=30`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p',
    ]);
    const c = collect(file, { previewHeight: 60, previewFps: 10 });
    assert.equal((await c.decoder.done).reason, 'eof');
    assert.equal(c.frames.length, 30);
    const withJpeg = c.frames.filter((f) => f.jpeg);
    // 30 frames span 1.0 s (1.001 s at 29.97): slots 0..9 of 100 ms each, one preview per slot.
    assert.equal(withJpeg.length, 10, `previews on frames ${withJpeg.map((f) => f.index).join(',')}`);
    assert.equal(c.decoder.counters.joinDropped, 0);
    for (const f of withJpeg) {
      const slot = Math.floor((f.ptsMs * 10) / 1000 + 1e-6);
      const prev = c.frames[f.index - 1];
      assert.ok(!prev || Math.floor((prev.ptsMs * 10) / 1000 + 1e-6) < slot, `frame ${f.index} is the first of its 100 ms slot`);
      const gray = await jpegGray(f.jpeg!);
      assert.ok(Math.abs(gray - f.rgb[0]!) <= 4, `frame ${f.index}: preview gray ${gray} vs frame ${f.rgb[0]}`);
    }
  });
}
