import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../src/config/schema.ts';
import { readCard } from '../../src/inference/bundle.ts';
import { createLogger } from '../../src/log.ts';
import { analyzeFile } from '../../src/offline/analyze.ts';
import { parseServerText } from '../../src/wire/protocol.ts';

/**
 * The "done when": analysis of a clip whose sounding object is known puts the peak in that
 * object's box in most frames. The clip (test/fixtures/localization-clip, see make-clip.sh) is three
 * corpus test scenes with two objects each, 6 s per scene; only frames whose whole audio window
 * lies inside their scene's segment are judged. Needs the trained default model; the random-weight
 * fixture cannot localize, so without the trained bundle the test is skipped, saying why. Peak in
 * the box is a looser criterion than the card's cIoU@0.5. The clip's scenes come from an earlier
 * corpus whose asset split differs from the one the default model was trained on, so this checks
 * the whole path (decode, windows, batches, peaks) with a model that localizes, not held-out skill.
 */
const MODEL = fileURLToPath(new URL('../../models/avin-centernet', import.meta.url));
const CLIP_DIR = fileURLToPath(new URL('../fixtures/localization-clip', import.meta.url));
const haveModel = existsSync(join(MODEL, 'model.json'));

interface Segment {
  readonly id: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly sounding: string;
  /** Normalised [x0, y0, x1, y1] of the sounding object. */
  readonly box: readonly [number, number, number, number];
}

test(
  'analyze: the peak lands in the sounding object\'s box in most judged frames (trained default model)',
  { skip: haveModel ? false : 'models/avin-centernet/model.json is absent: the trained default model is not in this checkout (the random fixture cannot localize)' },
  async (t) => {
    const card = await readCard(MODEL);
    const { segments } = JSON.parse(readFileSync(join(CLIP_DIR, 'clip.json'), 'utf8')) as { segments: Segment[] };
    const dir = mkdtempSync(join(tmpdir(), 'avloc-loc-'));
    try {
      const json = join(dir, 'track.jsonl');
      await analyzeFile({
        input: join(CLIP_DIR, 'clip.mp4'),
        outPath: null,
        jsonPath: json,
        fps: 2,
        config: configSchema.parse({ model: { dir: MODEL }, pipeline: { maxBatch: 4 } }),
        log: createLogger('test', 'warn'),
        progress: null,
      });
      const windowMs = card.audio.windowSeconds * 1000;
      const perSegment = segments.map((s) => ({ id: s.id, sounding: s.sounding, judged: 0, hits: 0 }));
      for (const line of readFileSync(json, 'utf8').trimEnd().split('\n')) {
        const m = parseServerText(line);
        if (m.type !== 'heatmap') continue;
        const k = segments.findIndex((s) => m.ptsMs >= s.fromMs + windowMs && m.ptsMs < s.toMs);
        const seg = segments[k];
        if (!seg) continue;
        const [x0, y0, x1, y1] = seg.box;
        perSegment[k]!.judged++;
        if (m.peak.u >= x0 && m.peak.u <= x1 && m.peak.v >= y0 && m.peak.v <= y1) perSegment[k]!.hits++;
      }
      const judged = perSegment.reduce((a, s) => a + s.judged, 0);
      const hits = perSegment.reduce((a, s) => a + s.hits, 0);
      const detail = perSegment.map((s) => `${s.id} (${s.sounding}): ${s.hits}/${s.judged}`).join(', ');
      t.diagnostic(`peak in the sounding object's box: ${hits}/${judged} judged frames (${detail})`);
      assert.ok(judged >= 3 * segments.length, `too few frames judged (${judged}): ${detail}`);
      assert.ok(hits / judged > 0.5, `peak in the sounding object's box in ${hits}/${judged} judged frames: ${detail}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
