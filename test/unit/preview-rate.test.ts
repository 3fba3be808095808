import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDecoderArgs } from '../../src/media/decoder-args.ts';
import { PreviewRate, slotSelectFilter } from '../../src/media/preview-rate.ts';

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
