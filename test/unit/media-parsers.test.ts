import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDecoderArgs } from '../../src/media/decoder-args.ts';
import { FixedChunker } from '../../src/media/fixed-chunker.ts';
import { FrameJoiner } from '../../src/media/frame-joiner.ts';
import { JpegSplitter } from '../../src/media/jpeg-splitter.ts';
import { LineSplitter } from '../../src/media/line-splitter.ts';
import { PreviewRate, slotSelectFilter } from '../../src/media/preview-rate.ts';
import { parseShowinfoLine, ShowinfoClock } from '../../src/media/showinfo-parser.ts';
import { classifyFailure, InputStreamsParser } from '../../src/media/stream-info.ts';

// Captured from ffmpeg 5.1 (`-loglevel level+info`) and the 2018 static 4.x build.
const SHOWINFO_51 = [
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] config in time_base: 1/12800, frame_rate: 25/1',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] config out time_base: 0/0, frame_rate: 0/0',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] n:   0 pts:      0 pts_time:0       pos:      306 fmt:rgb24 sar:4/3 s:224x224 i:P iskey:1 type:I checksum:1581BD35 plane_checksum:[1581BD35] mean:[123] stdev:[122.1]',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info]   side data - User Data Unregistered:',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] n:   1 pts:    512 pts_time:0.04    pos:     9368 fmt:rgb24 sar:4/3 s:224x224 i:P iskey:0 type:P',
];
const SHOWINFO_4X_LONG = '[Parsed_showinfo_2 @ 0x3b231e00] [info] n:98765 pts:47407200000 pts_time:3.70369e+06 pos:-1 fmt:rgb24 sar:1/1 s:224x224 i:P iskey:0 type:P';

test('showinfo: time base line, then frames converted from integer pts', () => {
  const clock = new ShowinfoClock();
  const out = SHOWINFO_51.map((l) => parseShowinfoLine(l)).flatMap((ev) => (ev ? [clock.push(ev)] : []));
  assert.deepEqual(out.filter(Boolean), [
    { n: 0, ms: 0, seconds: 0 },
    { n: 1, ms: 40, seconds: 0.04 },
  ]);
});

test('showinfo: integer pts keeps millisecond precision where pts_time has only 6 digits', () => {
  const clock = new ShowinfoClock();
  clock.push({ kind: 'timebase', num: 1, den: 12800 });
  const ev = parseShowinfoLine(SHOWINFO_4X_LONG);
  assert.ok(ev && ev.kind === 'frame');
  assert.equal(ev.ptsTime, 3.70369e6); // what pts_time alone would give: 3703690 s
  assert.deepEqual(clock.push(ev), { n: 98765, ms: 3703687500, seconds: 47407200000 * (1 / 12800) });
});

test('showinfo: NOPTS frames are reported with a null time; other filters are ignored', () => {
  const ev = parseShowinfoLine('[Parsed_showinfo_1 @ 0x1] [info] n:   7 pts:NOPTS pts_time:NOPTS pos: -1 fmt:rgb24');
  assert.deepEqual(ev, { kind: 'frame', n: 7, pts: null, ptsTime: null });
  assert.equal(new ShowinfoClock().push(ev!)?.ms, null);
  assert.ok(Number.isNaN(new ShowinfoClock().push(ev!)?.seconds), 'no pts: NaN seconds, as ffmpeg\'s t');
  assert.equal(parseShowinfoLine('[Parsed_ashowinfo_0 @ 0x1] [info] n:0 pts:0 pts_time:0'), null);
  assert.equal(parseShowinfoLine('[info] frame=   27 fps= 13 q=-0.0'), null);
});

// A real 16x16 JPEG written by ffmpeg's mjpeg encoder (captured sample).
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgKCgsKCw0NDQ0NDRAPEBAQEBAQEBAQEBASEhIVFRUSEhIQEBISFBQVFRcXFxUVFRUXFxkZGR4eHBwjIyQrKzP/xABrAAEBAQAAAAAAAAAAAAAAAAAFAwcBAQEAAAAAAAAAAAAAAAAAAAAGEAABAwMDBQEBAQAAAAAAAAACEgMBERMEIQAFQRQiI1EVMTMRAAICAgICAwEAAAAAAAAAAAIBEgMEETIAYUFRBiIT/8AAEQgAEAAQAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8Ay4pzHclxpjVIrmqIEBgYkiIzoIjH0piOm7cb+rg5Ui14Hbh5XpJu0kvZclTSKTRSqV0rXbOAQSfIs0uGfamLVaS6LUqMRn6npHl8jaLDjMcbGBaS/q/2S5uQ1ORLsNL/AKu1qn/Wmqdsj7HnWnagmIGYKH9CKAWKTN/oUwDjxQ/JLtBmYQOzIrKwjiOSHgtyB1aiemYetttPg13/2Q==',
  'base64',
);

test('jpeg splitter: three images fed one byte at a time come out whole', () => {
  const stream = Buffer.concat([JPEG, JPEG, JPEG]);
  const s = new JpegSplitter();
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...s.push(stream.subarray(i, i + 1)));
  assert.equal(got.length, 3);
  for (const img of got) assert.ok(img.equals(JPEG));
  assert.equal(s.dropped, 0);
});

test('jpeg splitter: an FFD9 inside an APP segment does not end the image', () => {
  // SOI, COM segment whose payload contains FF D9, then the rest of the real image after its SOI.
  const com = Buffer.from([0xff, 0xfe, 0x00, 0x06, 0xff, 0xd9, 0xff, 0xd9]);
  const img = Buffer.concat([JPEG.subarray(0, 2), com, JPEG.subarray(2)]);
  const got = new JpegSplitter().push(Buffer.concat([img, JPEG]));
  assert.equal(got.length, 2);
  assert.ok(got[0]!.equals(img));
  assert.ok(got[1]!.equals(JPEG));
});

test('jpeg splitter: garbage before an image is skipped and counted; oversized input is bounded', () => {
  const s = new JpegSplitter();
  const got = s.push(Buffer.concat([Buffer.from([1, 2, 3, 0xff]), JPEG]));
  assert.equal(got.length, 1);
  assert.ok(got[0]!.equals(JPEG));
  assert.equal(s.dropped, 1);
  const small = new JpegSplitter(100);
  assert.deepEqual(small.push(JPEG), []);
  assert.equal(small.dropped, 1);
  assert.equal(small.push(JPEG.subarray(0, 50)).length, 0, 'resyncs and waits for a whole image');
});

test('fixed chunker: exact records across arbitrary chunk boundaries, remainder on flush', () => {
  const c = new FixedChunker(4);
  const out = [...c.push(Uint8Array.from([1, 2, 3])), ...c.push(Uint8Array.from([4, 5, 6, 7, 8, 9, 10]))];
  assert.deepEqual(out.map((r) => [...r]), [[1, 2, 3, 4], [5, 6, 7, 8]]);
  assert.deepEqual([...c.flush()], [9, 10]);
  assert.notEqual(out[0]!.buffer, out[1]!.buffer, 'each record owns its memory');
});

test('frame joiner pairs pts, rgb and jpeg arriving in any order', () => {
  const j = new FrameJoiner(true);
  const rgb = (v: number) => Uint8Array.from([v]);
  assert.deepEqual(j.pushRgb(rgb(1)), []);
  assert.deepEqual(j.pushJpeg(rgb(11)), []);
  const f0 = j.pushPts(0);
  assert.equal(f0.length, 1);
  assert.deepEqual([f0[0]!.n, f0[0]!.ptsMs, f0[0]!.rgb[0], f0[0]!.jpeg?.[0]], [0, 0, 1, 11]);
  j.pushPts(40);
  j.pushPts(80);
  j.pushRgb(rgb(2));
  assert.equal(j.pushJpeg(rgb(12))[0]?.ptsMs, 40);
  j.pushRgb(rgb(3));
  const tail = j.flush();
  assert.deepEqual(tail.map((f) => [f.n, f.ptsMs, f.jpeg]), [[2, 80, undefined]], 'a frame without its preview still comes out at the end');
});

test('frame joiner queues are bounded and count drops', () => {
  const j = new FrameJoiner(false, 3);
  for (let i = 0; i < 5; i++) j.pushPts(i);
  assert.equal(j.dropped, 2);
});

test('line splitter handles \\r progress lines, CRLF and split chunks', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push('a\rb\r\nc'), ['a', 'b']);
  assert.deepEqual(s.push('d\n0123456789abc'), ['cd', '0123456789']);
  assert.equal(s.flush(), null);
});

const INPUT_LINES = [
  "[info] Input #0, flv, from 'rtmp://127.0.0.1:40415/live/cam1':",
  '[info]   Duration: 00:00:06.00, start: 0.000000, bitrate: N/A',
  '[info]     Stream #0:0: Data: none',
  '[info]     Stream #0:1: Audio: aac (LC), 44100 Hz, mono, fltp, 69 kb/s',
  '[info]     Stream #0:2: Video: h264 (Constrained Baseline), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 29.97 fps, 25 tbr, 1k tbn, 50 tbc',
  '[info] Stream mapping:',
  '[info]     Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 112x112, 25 fps (default)',
];

test('input streams come from the Input #0 section only', () => {
  const p = new InputStreamsParser();
  const done = INPUT_LINES.map((l) => p.push(l));
  assert.deepEqual(done, [false, false, false, false, false, true, false]);
  assert.deepEqual(p.snapshot(), {
    hasVideo: true,
    hasAudio: true,
    videoCodec: 'h264',
    audioCodec: 'aac',
    fps: 29.97,
    width: 320,
    height: 240,
    audioSampleRate: 44100,
  });
});

test('failure classification: missing audio, no video, garbage, other', () => {
  const videoOnly = new InputStreamsParser();
  for (const l of ["Input #0, mov,mp4, from 'x.mp4':", '  Stream #0:0(und): Video: h264 (High), yuv420p, 160x120, 10 fps']) videoOnly.push(l);
  const missingAudio = ["[error] Stream specifier ':a:0' in filtergraph description [0:v:0]split=2[vm][vp];[0:a:0]aresample[aout] matches no streams."];
  assert.equal(classifyFailure(missingAudio, videoOnly.snapshot(), true), 'missing-audio');
  const audioOnly = new InputStreamsParser();
  for (const l of ["Input #0, mov, from 'a.m4a':", '  Stream #0:0(und): Audio: aac (LC), 16000 Hz, mono']) audioOnly.push(l);
  const noVideo = ["[error] Stream specifier ':v:0' in filtergraph description [0:v:0]scale=64:64 matches no streams."];
  assert.equal(classifyFailure(noVideo, audioOnly.snapshot(), true), 'no-video');
  const none = new InputStreamsParser().snapshot();
  assert.equal(classifyFailure(['[error] /tmp/junk.bin: Invalid data found when processing input'], none, false), 'undecodable');
  assert.equal(classifyFailure(['[error] rtmp://127.0.0.1/live/x: Input/output error'], none, false), 'other');
});

test('decoder args: preview and audio outputs on their own pipes, no nobuffer for live', () => {
  const args = buildDecoderArgs({ input: ['-i', 'in.flv'], live: true, width: 224, height: 224, sampleRate: 32000, withAudio: true, previewHeight: 360, previewQuality: 5 });
  const s = args.join(' ');
  assert.match(s, /\[0:a:0\]aresample=32000:async=1:first_pts=0/);
  assert.match(s, /scale=224:224,format=rgb24,showinfo/);
  assert.match(s, /-f rawvideo pipe:3/);
  assert.match(s, /-f f32le .*-ar 32000 pipe:4/);
  assert.match(s, /-f image2pipe -c:v mjpeg -q:v 5 -threads 1 pipe:5/, 'previews encoded on one thread: no frame of delay');
  assert.ok(!args.includes('nobuffer'));
  assert.ok(args.indexOf('-analyzeduration') < args.indexOf('-i'), 'probe options go before the input');
  const threads = args.indexOf('-threads');
  assert.ok(threads >= 0 && args[threads + 1] === '1' && threads < args.indexOf('-i'), 'live: one decoding thread, as an input option');
  const videoOnly = buildDecoderArgs({ input: ['-i', 'x'], live: false, width: 8, height: 8, sampleRate: 16000, withAudio: false, previewHeight: null, previewQuality: 5 });
  assert.ok(!videoOnly.join(' ').includes('0:a:0') && !videoOnly.includes('pipe:4') && !videoOnly.includes('pipe:5'));
  assert.ok(!videoOnly.includes('-threads'), 'offline analysis keeps ffmpeg\'s threading');
});

test('preview rate: the first frame of each 1/fps slot, the same expression ffmpeg evaluates', () => {
  const r = new PreviewRate(15);
  const picks = Array.from({ length: 12 }, (_, n) => r.select(n / 30));
  assert.deepEqual(picks, [true, false, true, false, true, false, true, false, true, false, true, false]);
  // NaN (no pts) behaves as in ffmpeg's evaluator: never selected after a selected frame with a
  // time; after a selected NaN, the next frame is selected again.
  const q = new PreviewRate(10);
  assert.equal(q.select(0), true);
  assert.equal(q.select(Number.NaN), false);
  assert.equal(q.select(0.1), true);
  const z = new PreviewRate(10);
  assert.equal(z.select(Number.NaN), true);
  assert.equal(z.select(Number.NaN), true);
  assert.throws(() => new PreviewRate(0), /positive/);
  const args = buildDecoderArgs({ input: ['-i', 'x'], live: true, width: 8, height: 8, sampleRate: 16000, withAudio: false, previewHeight: 90, previewQuality: 5, previewFps: 12 });
  assert.ok(args.join(' ').includes(`[vp]${slotSelectFilter(12)},scale=`), 'the cap applies to the preview branch only');
});

test('frame joiner: frames the preview cap skipped come out without waiting for a JPEG', () => {
  const j = new FrameJoiner(true);
  const rgb = (v: number) => new Uint8Array([v]);
  assert.deepEqual(j.pushPts(0, true), []);
  assert.deepEqual(j.pushRgb(rgb(1)), [], 'waits for the JPEG of a frame that has one');
  assert.equal(j.pushPts(40, false).length, 0);
  const out = [...j.pushRgb(rgb(2)), ...j.pushJpeg(new Uint8Array([0xff]))];
  assert.deepEqual(out.map((f) => [f.n, f.ptsMs, f.rgb[0], f.jpeg?.[0]]), [[0, 0, 1, 0xff], [1, 40, 2, undefined]]);
});
