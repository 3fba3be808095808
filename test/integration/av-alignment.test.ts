import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { mediaWindows } from '../../src/app/media-windows.ts';
import { readCard } from '../../src/inference/bundle.ts';
import { Decoder } from '../../src/media/decoder.ts';
import { createLogger } from '../../src/log.ts';
import type { AvWindow } from '../../src/pipeline/types.ts';
import { FFMPEG, ffmpeg } from '../support/ffmpeg.ts';
import { FIXTURE_MODEL } from '../support/service.ts';

/**
 * Regression guard for docs/MODEL_CONTRACT.md "Audio window alignment": a white flash and a tone burst that
 * start together in the source must meet at the end of the flash frame's audio window, within one
 * frame period — through the real encoder (H.264 + AAC in FLV, as RTMP carries it), the real
 * decoder and the service's window assembly.
 */
const ONSET_S = 2.0;
const FPS = 30;
let dir: string;
let clip: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'avloc-align-'));
  clip = join(dir, 'flash-tone.flv');
  await ffmpeg([
    '-f', 'lavfi', '-i', `color=c=black:s=160x120:r=${FPS}:d=3.5,geq=lum='if(gte(T,${ONSET_S}),235,16)':cb=128:cr=128`,
    '-f', 'lavfi', '-i', `aevalsrc='if(gte(t,${ONSET_S}),0.8*sin(2*PI*1000*t),0)':s=44100:d=3.5`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', clip,
  ]);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const brightness = (rgb: Uint8Array): number => {
  let sum = 0;
  for (let i = 0; i < rgb.length; i += 3) sum += rgb[i]!;
  return sum / (rgb.length / 3);
};

test('the flash frame’s audio window ends at the tone onset (within one frame period)', async () => {
  const card = await readCard(FIXTURE_MODEL);
  const rate = card.audio.sampleRate;
  const decoder = new Decoder({
    source: { id: 'align', ffmpegInput: ['-i', clip], live: false },
    width: card.visual.width,
    height: card.visual.height,
    sampleRate: rate,
    previewHeight: null,
    ffmpegPath: FFMPEG,
    logger: createLogger('test', 'warn'),
  });
  // A long wait for audio: offline, a frame should always get its full window.
  const windows$ = mediaWindows(decoder, { card, audioWaitMs: 5000 });
  const all = lastValueFrom(windows$.pipe(toArray()));
  decoder.start();
  const windows: AvWindow[] = await all;
  await decoder.close();
  assert.ok(windows.length > 60, `got ${windows.length} windows`);

  const period = 1000 / FPS;
  const windowMs = card.audio.windowSeconds * 1000;
  const flash = windows.find((w) => brightness(w.frame.rgb) > 128);
  assert.ok(flash, 'a flash frame was decoded');
  const tFlash = flash.frame.ptsMs;
  assert.ok(Math.abs(tFlash - ONSET_S * 1000) <= period, `flash at ${tFlash} ms`);

  for (const w of windows) {
    const t = w.frame.ptsMs;
    const n = w.audio.length;
    const first = w.audio.findIndex((x) => Math.abs(x) > 0.2);
    // Time of the first loud sample on the media timeline (the window's last sample is just before t).
    const onsetMs = first < 0 ? Infinity : t - ((n - first) * 1000) / rate;
    if (t < tFlash - period) {
      assert.ok(onsetMs >= tFlash - period, `frame at ${t.toFixed(1)} ms hears the tone at ${onsetMs.toFixed(1)} ms, before the flash at ${tFlash}`);
    } else if (t >= tFlash + period && t - windowMs < tFlash - period) {
      assert.ok(Math.abs(onsetMs - tFlash) <= period, `frame at ${t.toFixed(1)} ms: onset at ${onsetMs.toFixed(1)} ms vs flash at ${tFlash} ms`);
    }
  }
  // The flash frame itself: its window ends where the tone begins.
  const first = flash.audio.findIndex((x) => Math.abs(x) > 0.2);
  const loudTailMs = first < 0 ? 0 : ((flash.audio.length - first) * 1000) / rate;
  assert.ok(loudTailMs <= period, `the flash frame's window holds ${loudTailMs.toFixed(1)} ms of tone`);
});
