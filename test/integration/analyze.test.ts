import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configSchema } from '../../src/config/schema.ts';
import { AvlocError } from '../../src/errors.ts';
import { readCard } from '../../src/inference/bundle.ts';
import { createLogger } from '../../src/log.ts';
import { analyzeFile, type AnalyzeOptions } from '../../src/offline/analyze.ts';
import { parseServerText } from '../../src/wire/protocol.ts';
import { FFMPEG, ffmpeg } from '../support/ffmpeg.ts';
import { FIXTURE_MODEL } from '../support/service.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src', 'cli.ts');
const config = configSchema.parse({ model: { dir: FIXTURE_MODEL, intraOpThreads: 1 }, pipeline: { maxBatch: 4 } });
const log = createLogger('test', process.env.AVLOC_TEST_DEBUG ? 'debug' : 'warn');
const quiet = { config, log, progress: null } as const;

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'avloc-analyze-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** A 2 s, 10 fps, 320x240 clip with a tone (H.264 + AAC in MP4). */
async function makeClip(path: string, opts: { video?: boolean; audio?: boolean } = {}): Promise<void> {
  const args: string[] = [];
  if (opts.video ?? true) args.push('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10:duration=2');
  if (opts.audio ?? true) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=2');
  if (opts.video ?? true) args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p');
  if (opts.audio ?? true) args.push('-c:a', 'aac', '-b:a', '64k');
  await ffmpeg([...args, path]);
}

/** What `ffmpeg -i FILE` says about a file's streams, and how many video frames it decodes. */
async function probe(path: string): Promise<{ video: boolean; audio: boolean; frames: number }> {
  const { stderr } = await run(FFMPEG, ['-hide_banner', '-nostdin', '-i', path, '-map', '0:v:0', '-f', 'null', '-'], { maxBuffer: 1 << 22 });
  const frames = [...stderr.matchAll(/frame=\s*(\d+)/g)].map((m) => Number(m[1])).at(-1) ?? 0;
  return { video: /Stream #0:\d+.*: Video: h264/.test(stderr), audio: /Stream #0:\d+.*: Audio: aac/.test(stderr), frames };
}

function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

test(
  'analyze --fps 5: one JSON line per selected frame in the WS heatmap schema, grid from the card, MP4 with video and audio',
  withDir(async (dir) => {
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip);
    const out = join(dir, 'overlay.mp4');
    const json = join(dir, 'track.jsonl');
    const summary = await analyzeFile({ ...quiet, input: clip, outPath: out, jsonPath: json, fps: 5 });
    const card = await readCard(FIXTURE_MODEL);

    const lines = readFileSync(json, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 10, '2 s at --fps 5');
    assert.equal(summary.analyzed, 10);
    assert.equal(summary.decoded, 10, 'ffmpeg selects before scaling: only the selected frames reach the pipeline');
    const msgs = lines.map((l) => parseServerText(l));
    const pts: number[] = [];
    for (const m of msgs) {
      assert.equal(m.type, 'heatmap');
      if (m.type !== 'heatmap') continue;
      assert.deepEqual([m.grid.h, m.grid.w], card.visual.grid);
      assert.equal(m.grid.values.length, card.visual.grid[0] * card.visual.grid[1]);
      assert.equal(m.hasAudio, true);
      assert.equal(m.streamId, 'clip.mp4');
      assert.ok(m.peak.x < m.grid.w && m.peak.y < m.grid.h);
      pts.push(m.ptsMs);
    }
    // The first frame of each 200 ms slot: 0, 200, ..., 1800 (10 fps source).
    assert.deepEqual(pts.map((p) => Math.round(p)), [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
    assert.ok(msgs.every((m, i) => m.type === 'heatmap' && m.counters.analyzed === i + 1));

    const mp4 = await probe(out);
    assert.ok(mp4.video, 'overlay has an H.264 video stream');
    assert.ok(mp4.audio, 'overlay carries the input audio');
    assert.equal(mp4.frames, 10, 'overlay is 10 frames at 5 fps');
    assert.deepEqual(entries(dir), ['clip.mp4', 'overlay.mp4', 'track.jsonl'], 'no temporary files left');
  }),
);

test(
  'analyze without --fps analyzes every frame, in order, none skipped',
  withDir(async (dir) => {
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip);
    const json = join(dir, 'all.jsonl');
    const summary = await analyzeFile({ ...quiet, input: clip, outPath: null, jsonPath: json, fps: null });
    const msgs = readFileSync(json, 'utf8').trimEnd().split('\n').map((l) => parseServerText(l));
    assert.equal(msgs.length, 20);
    assert.deepEqual(
      msgs.map((m) => (m.type === 'heatmap' ? m.frame : -1)),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.ok(msgs.every((m) => m.type === 'heatmap' && m.counters.skipped === 0 && m.counters.dropped === 0));
    assert.equal(summary.overlayFrames, 0);
    assert.deepEqual(entries(dir), ['all.jsonl', 'clip.mp4']);
  }),
);

test(
  'analyze refuses a file without video, without audio, or unreadable, with a clear error and no output files',
  withDir(async (dir) => {
    const audioOnly = join(dir, 'audio.m4a');
    await makeClip(audioOnly, { video: false });
    const videoOnly = join(dir, 'silent.mp4');
    await makeClip(videoOnly, { audio: false });
    const garbage = join(dir, 'garbage.mp4');
    writeFileSync(garbage, Buffer.alloc(4096, 7));
    const before = entries(dir);
    const outs = { outPath: join(dir, 'o.mp4'), jsonPath: join(dir, 't.jsonl'), fps: null };
    const rejects = (input: string, code: string, re: RegExp) =>
      assert.rejects(analyzeFile({ ...quiet, ...outs, input }), (err: unknown) => {
        assert.ok(err instanceof AvlocError);
        assert.equal(err.code, code);
        assert.match(err.message, re);
        return true;
      });
    await rejects(audioOnly, 'STREAM_NO_VIDEO', /audio\.m4a has no video stream/);
    await rejects(videoOnly, 'STREAM_NO_AUDIO', /silent\.mp4 has no audio stream/);
    await rejects(garbage, 'DECODE_FAILED', /cannot read .*garbage\.mp4: .*Invalid data/);
    await rejects(join(dir, 'missing.mp4'), 'DECODE_FAILED', /No such file or directory/);
    assert.deepEqual(entries(dir), before);
  }),
);

test(
  'analyze interrupted mid-run (Ctrl-C) deletes its partial outputs',
  withDir(async (dir) => {
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip);
    const controller = new AbortController();
    // The first progress report comes after the first analyzed batch was written: abort there.
    const progress = { isTTY: false, write: () => (controller.abort(), true) } as unknown as NodeJS.WriteStream;
    const opts: AnalyzeOptions = { ...quiet, input: clip, outPath: join(dir, 'o.mp4'), jsonPath: join(dir, 't.jsonl'), fps: null, progress, progressEveryMs: 1, signal: controller.signal };
    await assert.rejects(analyzeFile(opts), (err: unknown) => err instanceof AvlocError && err.code === 'CLOSED');
    assert.deepEqual(entries(dir), ['clip.mp4']);
  }),
);

test('avloc analyze CLI: a missing input fails with exit code 1, the reason, and no outputs', withDir(async (dir) => {
  const err = await run(process.execPath, ['--import', 'tsx', CLI, 'analyze', join(dir, 'nope.mp4'), '--model', FIXTURE_MODEL, '--json', join(dir, 't.jsonl')], { cwd: ROOT }).then(
    () => null,
    (e: { code: number; stderr: string }) => e,
  );
  assert.ok(err, 'the command failed');
  assert.equal(err.code, 1);
  assert.match(err.stderr, /avloc: DECODE_FAILED: cannot read .*nope\.mp4: .*No such file or directory/);
  assert.deepEqual(entries(dir), []);
}));

test(
  'analysis is deterministic: the same file gives the same heatmaps whatever the batch size (audio windows intact, no embedding from a later frame)',
  withDir(async (dir) => {
    // 18 s, three scenes with different sounds: a batch spans a change of sound, and audio runs
    // seconds ahead of the frames waiting for it while the pipeline applies backpressure.
    const clip = fileURLToPath(new URL('../fixtures/localization-clip/clip.mp4', import.meta.url));
    const grids: number[][][] = [];
    for (const maxBatch of [1, 8]) {
      const json = join(dir, `track-${maxBatch}.jsonl`);
      const cfg = configSchema.parse({ model: { dir: FIXTURE_MODEL, intraOpThreads: 1 }, pipeline: { maxBatch } });
      const s = await analyzeFile({ input: clip, outPath: null, jsonPath: json, fps: 4, config: cfg, log, progress: null });
      assert.equal(s.audioLate, 0);
      const heat = readFileSync(json, 'utf8').trimEnd().split('\n').map(parseServerText).flatMap((m) => (m.type === 'heatmap' ? [[...m.grid.values]] : []));
      grids.push(heat);
    }
    assert.equal(grids[0]!.length, 72);
    assert.equal(grids[1]!.length, grids[0]!.length);
    let worst = 0;
    grids[0]!.forEach((g, i) => g.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - grids[1]![i]![k]!)))));
    // Batched and single ORT calls differ only by float rounding.
    assert.ok(worst < 1e-4, `largest heatmap difference between batch 1 and batch 8: ${worst}`);
  }),
);
