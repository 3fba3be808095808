import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyFailure, InputStreamsParser } from '../../src/media/stream-info.ts';

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
