import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDecoderArgs } from '../../src/media/decoder-args.ts';

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

test('decoder args: the analysis gate heads the video chain (before the preview split) and stdin stays open for it', () => {
  const gated = buildDecoderArgs({ input: ['-i', 'rtmp://x'], live: true, width: 224, height: 224, sampleRate: 16000, withAudio: true, previewHeight: 360, previewQuality: 5, selectFps: 10, gateFps: null });
  const graph = gated[gated.indexOf('-filter_complex') + 1]!;
  assert.match(graph, /^\[0:v:0\]select='[^']*',shuffleframes@avloc_gate=mapping=-1:enable='0',split=2/, graph);
  assert.ok(!gated.includes('-nostdin'), 'the gate\'s commands arrive on stdin');
  const capped = buildDecoderArgs({ input: ['-i', 'rtmp://x'], live: true, width: 8, height: 8, sampleRate: 16000, withAudio: false, previewHeight: null, previewQuality: 5, gateFps: 7.5 });
  assert.match(capped.join(' '), /shuffleframes@avloc_gate=mapping=-1:enable='if\(isnan\(t\),0,.*floor\(t\*7\.5\+1e-6\).*',scale=8:8/);
  const plain = buildDecoderArgs({ input: ['-i', 'x'], live: true, width: 8, height: 8, sampleRate: 16000, withAudio: false, previewHeight: null, previewQuality: 5 });
  assert.ok(plain.includes('-nostdin') && !plain.join(' ').includes('avloc_gate'), 'no gate: ffmpeg must not read stdin');
});
