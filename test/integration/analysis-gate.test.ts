import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { Decoder } from '../../src/media/decoder.ts';
import { resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';
import type { VideoFrame } from '../../src/pipeline/types.ts';

/**
 * The analysis gate on a real ffmpeg reading a 30 fps clip in real time (-re, so wall time ≈ media
 * time and the commands land mid-stream): every frame, then at most 4 per second of media time,
 * then every frame again, without a restart, with previews still paired with their frames and the
 * audio untouched.
 */
const exec = promisify(execFile);
const ffmpeg = resolveFfmpeg();
const dir = mkdtempSync(join(tmpdir(), 'avloc-gate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('setAnalysisFps changes a running live decoder’s frame rate both ways, previews and audio intact', { timeout: 40_000 }, async () => {
  const clip = join(dir, 'clip.mp4');
  await exec(ffmpeg, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '7', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', clip,
  ]);
  const decoder = new Decoder({
    source: { id: 'gated', ffmpegInput: ['-re', '-i', clip], live: true },
    width: 64, height: 48, sampleRate: 16000, previewHeight: 48,
    gate: true, ffmpegPath: ffmpeg, logger: createLogger('test', 'warn'),
  });
  const frames: VideoFrame[] = [];
  let samples = 0;
  decoder.frames$.subscribe((f) => frames.push(f));
  decoder.audio$.subscribe((a) => (samples += a.samples.length));
  assert.equal(decoder.analysisFps, null, 'a gated live decoder starts with every frame passing');
  decoder.start();
  try {
    const ptsAt = async (ms: number) => {
      await sleep(ms);
      return frames.at(-1)?.ptsMs ?? 0;
    };
    const capAt = await ptsAt(2000);
    assert.ok(capAt > 1000, `frames flowing before the cap (last pts ${capAt} ms)`);
    assert.equal(decoder.setAnalysisFps(4), true);
    assert.equal(decoder.analysisFps, 4);
    const uncapAt = await ptsAt(2500);
    assert.equal(decoder.setAnalysisFps(null), true);
    // A live source that ends is restarted, so stop before the clip does.
    await sleep(1800);
    await decoder.close();

    // Let the command reach ffmpeg (it reads stdin every 100 ms; -re keeps a little read-ahead).
    const settle = 400;
    const inWindow = (a: number, b: number) => frames.filter((f) => f.ptsMs >= a && f.ptsMs < b);
    const before = inWindow(0, capAt);
    const capped = inWindow(capAt + settle, uncapAt);
    const afterwards = inWindow(uncapAt + settle, Infinity);
    const rate = (list: VideoFrame[]) => (list.length - 1) / ((list.at(-1)!.ptsMs - list[0]!.ptsMs) / 1000);
    assert.ok(rate(before) > 25, `every frame before the cap: ${rate(before).toFixed(1)} fps`);
    assert.ok(afterwards.length > 10 && rate(afterwards) > 25, `every frame after it is lifted: ${afterwards.length} frames, ${rate(afterwards).toFixed(1)} fps`);
    const slots = capped.map((f) => Math.floor((f.ptsMs / 1000) * 4 + 1e-6));
    assert.equal(new Set(slots).size, slots.length, `one frame per 250 ms slot at most while capped: ${slots.join(',')}`);
    assert.ok(capped.length >= 4, `the capped stream keeps flowing: ${capped.length} frames`);

    assert.equal(decoder.counters.restarts, 0, 'no restart: the rate changed inside the running ffmpeg');
    assert.equal(decoder.counters.joinDropped, 0, 'every frame kept its preview');
    assert.ok(frames.every((f) => f.jpeg !== undefined), 'previews come with the frames that pass');
    const lastS = frames.at(-1)!.ptsMs / 1000;
    assert.ok(Math.abs(samples / 16000 - lastS) < 0.3, `audio is not gated: ${(samples / 16000).toFixed(2)} s of audio, last frame at ${lastS.toFixed(2)} s`);
  } finally {
    await decoder.close();
  }
});

test('a file decoder has no gate: setAnalysisFps says so and changes nothing', () => {
  const d = new Decoder({ source: { id: 'f', ffmpegInput: ['-i', 'x.mp4'], live: false }, width: 8, height: 8, sampleRate: 16000, gate: true, ffmpegPath: ffmpeg });
  assert.equal(d.analysisFps, undefined);
  assert.equal(d.setAnalysisFps(5), false);
  assert.throws(() => new Decoder({ source: { id: 'l', ffmpegInput: ['-i', 'x'], live: true }, width: 8, height: 8, sampleRate: 16000, gate: true, ffmpegPath: ffmpeg }).setAnalysisFps(0), RangeError);
});
