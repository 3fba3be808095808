import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assetCacheState, checkEncoders, checkPython } from '../../src/demo/preflight.ts';
import { resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';

test('assetCacheState: nothing, then unpacked packages, then renders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'avloc-demo-'));
  try {
    assert.deepEqual(assetCacheState(dir), { unpacked: false, rendered: false });
    mkdirSync(join(dir, '.cache', 'debs'), { recursive: true });
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, '.cache', 'debs', `.pkg${i}.unpacked`), '');
    assert.equal(assetCacheState(dir).unpacked, false, 'the npm emoji set is part of it');
    mkdirSync(join(dir, '.cache', 'fluent', 'package', 'assets'), { recursive: true });
    assert.equal(assetCacheState(dir).unpacked, true);
    mkdirSync(join(dir, '.cache', 'renders'));
    for (const f of ['a', 'b', 'c']) writeFileSync(join(dir, '.cache', 'renders', `${f}.npz`), '');
    assert.equal(assetCacheState(dir).rendered, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkPython and checkEncoders say what is wrong in one sentence', () => {
  assert.match(checkPython('/nonexistent/python3') ?? '', /cannot run \/nonexistent\/python3/);
  assert.match(checkEncoders('/nonexistent/ffmpeg') ?? '', /cannot run/);
  assert.equal(checkEncoders(resolveFfmpeg()), null, 'the project ffmpeg has libx264 and aac');
});
