import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackpressureQueue } from '../../src/offline/backpressure-queue.ts';
import { FrameSlots } from '../../src/offline/frame-slots.ts';
import { HeatmapPainter } from '../../src/offline/heatmap-rgba.ts';
import { buildEncoderArgs } from '../../src/offline/overlay-encoder.ts';
import { parseProbe } from '../../src/offline/probe-input.ts';
import { formatClock, ProgressReporter } from '../../src/offline/progress.ts';
import { TempOutputs } from '../../src/offline/temp-outputs.ts';

test('FrameSlots --fps selection: N frames per second of media, chosen by pts only', () => {
  const sel = new FrameSlots(5, 'floor');
  const pts = Array.from({ length: 20 }, (_, i) => i * 100); // 2 s at 10 fps
  const chosen = pts.filter((t) => sel.select(t));
  assert.deepEqual(chosen, [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
  // 29.97 fps pts (k × 1001/30000 s) at --fps 10: exactly 10 per second, no float slips.
  const ntsc = new FrameSlots(10, 'floor');
  const n = Array.from({ length: 300 }, (_, k) => (k * 1001) / 30).filter((t) => ntsc.select(t)).length;
  assert.equal(n, 100);
});

test('FrameSlots.repeats keeps the overlay constant-rate: slower sources repeat, faster ones drop from the video', () => {
  const slow = new FrameSlots(10);
  assert.deepEqual([0, 200, 400].map((t) => slow.repeats(t)), [1, 2, 2]); // 5 fps source in a 10 fps video
  const fast = new FrameSlots(10);
  assert.deepEqual([0, 50, 100, 150, 200].map((t) => fast.repeats(t)), [1, 1, 0, 1, 0]); // 20 fps source: round(0.5)=1
  const late = new FrameSlots(10);
  assert.equal(late.repeats(300), 4, 'a first frame at 0.3 s also fills slots 0..2');
  const jitter = new FrameSlots(25);
  assert.deepEqual([0, 39.9, 80.1, 119.8].map((t) => jitter.repeats(t)), [1, 1, 1, 1]);
});

test('BackpressureQueue pauses the producer at high water, resumes at low water, hands out batches in order', async () => {
  const calls: string[] = [];
  const q = new BackpressureQueue<number>({ highWater: 4, lowWater: 2, pause: () => calls.push('pause'), resume: () => calls.push('resume') });
  for (let i = 0; i < 5; i++) q.push(i);
  assert.deepEqual(calls, ['pause']);
  assert.deepEqual(await q.take(2), [0, 1]);
  assert.deepEqual(calls, ['pause'], 'still above low water');
  assert.deepEqual(await q.take(2), [2, 3]);
  assert.deepEqual(calls, ['pause', 'resume']);
  assert.deepEqual(await q.take(8), [4]);
  const waiting = q.take(8); // empty: waits for the next push
  q.push(5);
  assert.deepEqual(await waiting, [5]);
  q.end();
  assert.deepEqual(await q.take(8), []);
  assert.equal(q.maxLength, 5);

  const failing = new BackpressureQueue<number>({ highWater: 2, lowWater: 1, pause: () => undefined, resume: () => undefined });
  const pending = failing.take(1);
  failing.fail(new Error('decoder broke'));
  await assert.rejects(pending, /decoder broke/);
});

test('parseProbe reads streams and duration; null when ffmpeg never opened the input', () => {
  const ok = parseProbe(
    [
      "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':",
      '  Duration: 00:01:02.50, start: 0.000000, bitrate: 1105 kb/s',
      '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 640x360, 25 fps, 25 tbr, 12800 tbn (default)',
      '  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 63 kb/s (default)',
      'At least one output file must be specified',
    ].join('\n'),
  );
  assert.equal(ok?.durationMs, 62_500);
  assert.equal(ok?.streams.fps, 25);
  assert.equal(ok?.streams.hasAudio, true);
  assert.equal(parseProbe('nope.mp4: No such file or directory'), null);
  assert.equal(parseProbe("Input #0, flv, from 'rtmp://x':\n  Duration: N/A, start: 0\n")?.durationMs, null);
});

test('HeatmapPainter: per-frame min–max, hottest cell most opaque, flat maps transparent', () => {
  const p = new HeatmapPainter({ opacity: 0.5 });
  const rgba = p.paint(Float32Array.from([-0.2, 0.1, 0.4, 0.4]));
  assert.equal(rgba.length, 16);
  assert.equal(rgba[3], 0);
  assert.equal(rgba[11], 128);
  assert.ok(rgba[7]! > 0 && rgba[7]! < 128);
  assert.ok(p.paint(Float32Array.from([0.3, 0.3, Number.NaN])).every((v, i) => i % 4 !== 3 || v === 0));
});

test('overlay encoder args: JPEG frames and RGBA heatmaps at one rate, heatmap scaled to the frame, input audio mapped', () => {
  const args = buildEncoderArgs({ ffmpegPath: 'ffmpeg', outPath: '/o/.x.part', audioInput: ['-i', 'in.mp4'], rate: 29.97, gridW: 14, gridH: 7 });
  const s = args.join(' ');
  assert.match(s, /-f image2pipe -c:v mjpeg -framerate 29\.97 -i pipe:0/);
  assert.match(s, /-pix_fmt rgba -s 14x7 -framerate 29\.97 -i pipe:3/);
  assert.match(s, /scale2ref/);
  assert.match(s, /-map 2:a:0/);
  assert.equal(args.at(-1), '/o/.x.part');
  assert.doesNotMatch(buildEncoderArgs({ ffmpegPath: 'ffmpeg', outPath: 'o', audioInput: null, rate: 5, gridW: 1, gridH: 1 }).join(' '), /2:a/);
});

test('TempOutputs: files appear under their final names only on commit; discard deletes them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'avloc-temp-'));
  try {
    const a = new TempOutputs();
    const t = a.reserve(join(dir, 'out.mp4'));
    writeFileSync(t, 'x');
    assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('.')), []);
    a.commit();
    assert.deepEqual(readdirSync(dir), ['out.mp4']);
    const b = new TempOutputs();
    writeFileSync(b.reserve(join(dir, 'track.jsonl')), 'y');
    b.discard();
    assert.deepEqual(readdirSync(dir), ['out.mp4']);
    assert.ok(!existsSync(join(dir, 'track.jsonl')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress: bar and ETA on a TTY, plain lines otherwise', () => {
  let now = 0;
  const written: string[] = [];
  const fake = (isTTY: boolean) => ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;
  const tty = new ProgressReporter({ durationMs: 10_000, out: fake(true), clock: () => now });
  now = 2000;
  const line = tty.line(4000, 100);
  assert.match(line, /\[#{10}\.{14}\]\s+40% 0:04\/0:10, 100 frames, 50\.0 fps, 2\.00x, ETA 0:03/);
  const plain = new ProgressReporter({ durationMs: null, out: fake(false), clock: () => now, everyMs: 1000 });
  plain.update(1000, 10);
  plain.update(1500, 15); // within everyMs: not printed
  assert.equal(written.length, 1);
  assert.match(written[0]!, /^0:01 analyzed, 10 frames/);
  assert.equal(formatClock(3_725_000), '1:02:05');
});

test('decoder args with selectFps: the --fps selection runs in ffmpeg before scaling and previews', async () => {
  const { buildDecoderArgs } = await import('../../src/media/decoder-args.ts');
  const base = { input: ['-i', 'x.mp4'], live: false, width: 8, height: 8, sampleRate: 16000, withAudio: true, previewQuality: 3 };
  const graph = (a: string[]) => a[a.indexOf('-filter_complex') + 1]!;
  assert.match(graph(buildDecoderArgs({ ...base, previewHeight: 360, selectFps: 5 })), /^\[0:v:0\]select='isnan\(prev_selected_t\)\+gte\(floor\(t\*5\+1e-6\)-floor\(prev_selected_t\*5\+1e-6\),1\)',split=2/);
  assert.match(graph(buildDecoderArgs({ ...base, previewHeight: null, selectFps: 2.5 })), /^\[0:v:0\]select='.*t\*2\.5.*',scale=8:8/);
  assert.doesNotMatch(graph(buildDecoderArgs({ ...base, previewHeight: null })), /select/);
});
