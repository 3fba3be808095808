import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AvlocError } from '../../src/errors.ts';
import { ffmpegCandidates, ffmpegInfo, parseFfmpegVersion, resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';

const dir = mkdtempSync(join(tmpdir(), 'avloc-ffpath-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeBinary(name: string, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\necho "ffmpeg version 9.9 fake"\n');
  chmodSync(p, mode);
  return p;
}

const noPackages = (): unknown => {
  throw new Error('Cannot find module');
};

test('FFMPEG_PATH wins over every package and PATH', () => {
  const envBin = fakeBinary('env-ffmpeg', 0o755);
  const pkgBin = fakeBinary('pkg-ffmpeg', 0o755);
  const got = resolveFfmpeg({ env: { FFMPEG_PATH: envBin, PATH: dir }, requireModule: () => pkgBin });
  assert.equal(got, envBin);
});

test('a broken FFMPEG_PATH is an error, not a silent fallback', () => {
  const pkgBin = fakeBinary('pkg-ffmpeg2', 0o755);
  assert.throws(
    () => resolveFfmpeg({ env: { FFMPEG_PATH: join(dir, 'missing'), PATH: '' }, requireModule: () => pkgBin }),
    (err: unknown) => err instanceof AvlocError && err.code === 'FFMPEG_NOT_FOUND' && /FFMPEG_PATH .*missing.*does not exist/.test(err.message),
  );
});

test('ffmpeg-static whose download failed (file absent) falls through to @ffmpeg-installer', () => {
  const inst = fakeBinary('inst-ffmpeg', 0o755);
  const got = resolveFfmpeg({
    env: { PATH: '' },
    requireModule: (id) => (id === 'ffmpeg-static' ? join(dir, 'never-downloaded') : { path: inst }),
  });
  assert.equal(got, inst);
});

test('@ffmpeg-installer binary without +x (install scripts skipped) is made executable', () => {
  const inst = fakeBinary('inst-noexec', 0o644);
  const got = resolveFfmpeg({ env: { PATH: '' }, requireModule: (id) => (id === 'ffmpeg-static' ? null : { path: inst }) });
  assert.equal(got, inst);
  assert.ok((statSync(inst).mode & 0o111) !== 0, 'chmod gave it +x');
});

test('falls back to ffmpeg on PATH when no package is usable', () => {
  const onPath = fakeBinary('ffmpeg', 0o755);
  assert.equal(resolveFfmpeg({ env: { PATH: `/nonexistent:${dir}` }, requireModule: noPackages }), onPath);
});

test('nothing usable → FFMPEG_NOT_FOUND naming everything tried', () => {
  const empty = mkdtempSync(join(dir, 'empty-'));
  const cands = ffmpegCandidates({ env: { PATH: empty }, requireModule: noPackages });
  assert.deepEqual(cands.map((c) => c.via), ['ffmpeg-static', '@ffmpeg-installer/ffmpeg', 'PATH']);
  assert.throws(
    () => resolveFfmpeg({ env: { PATH: empty }, requireModule: noPackages }),
    (err: unknown) =>
      err instanceof AvlocError &&
      err.code === 'FFMPEG_NOT_FOUND' &&
      err.message.includes('ffmpeg-static') &&
      err.message.includes('@ffmpeg-installer/ffmpeg') &&
      err.message.includes('no ffmpeg on PATH'),
  );
});

test('parseFfmpegVersion reads release and git-build banners', () => {
  const rel = parseFfmpegVersion('/usr/bin/ffmpeg', 'ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers\nbuilt with gcc');
  assert.equal(rel.version, '5.1.9-0+deb12u1');
  assert.equal(rel.major, 5);
  const git = parseFfmpegVersion('/x/ffmpeg', 'ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2018');
  assert.equal(git.version, 'N-47683-g0e8eb07980-static');
  assert.equal(git.major, null);
});

test('ffmpegInfo runs -version once per binary and caches the answer', () => {
  const bin = fakeBinary('versioned-ffmpeg', 0o755);
  const first = ffmpegInfo(bin);
  assert.equal(first.version, '9.9');
  assert.equal(first.major, 9);
  rmSync(bin);
  assert.equal(ffmpegInfo(bin), first, 'answered from the cache, the binary is gone');
  assert.throws(() => ffmpegInfo(join(dir, 'no-such-ffmpeg')), (err: unknown) => err instanceof AvlocError && err.code === 'FFMPEG_NOT_FOUND');
});
