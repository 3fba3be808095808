import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AvlocError } from '../../src/errors.ts';
import { chooseFfmpeg, ffmpegCandidates, ffmpegInfo, parseFfmpegVersion, pathFfmpegProblem, resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';
import { ffmpegCaps, missingCaps, parseCodecs, parseProtocols } from '../../src/media/ffmpeg-probe.ts';
import { withAddress } from '../../src/media/resolve-host.ts';

const dir = mkdtempSync(join(tmpdir(), 'avloc-ffpath-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeBinary(name: string, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\necho "ffmpeg version 9.9 fake"\n');
  chmodSync(p, mode);
  return p;
}

/** A fake ffmpeg that answers -version, -protocols, -decoders and -encoders like a real one. */
function fakeFfmpeg(name: string, version: string, opts: { decoders?: string[] } = {}): string {
  const p = join(dir, name);
  const decoders = (opts.decoders ?? ['h264', 'aac', 'vp8', 'opus']).map((d) => ` A..... ${d.padEnd(20)} ${d}`).join('\n');
  writeFileSync(p, [
    '#!/bin/sh',
    'case "$2" in',
    `  -version) echo "ffmpeg version ${version} Copyright"; echo "configuration: --enable-shared" ;;`,
    "  -protocols) printf 'Supported file protocols:\nInput:\n  file\n  pipe\n  rtmp\n  rtp\n  udp\nOutput:\n  file\n' ;;",
    `  -decoders) printf 'Decoders:\n ------\n${decoders}\n' ;;`,
    "  -encoders) printf 'Encoders:\n ------\n V..... rawvideo  raw\n A..... pcm_f32le  pcm\n V..... mjpeg  MJPEG\n' ;;",
    'esac',
  ].join('\n'));
  chmodSync(p, 0o755);
  return p;
}

const noPackages = (): unknown => {
  throw new Error('Cannot find module');
};

test('order: a usable ffmpeg on PATH comes before the packaged builds; an old or incomplete one is passed over, saying why', () => {
  const pkg = fakeBinary('pkg-ffmpeg-order', 0o755);
  const good = mkdtempSync(join(dir, 'path-good-'));
  const current = fakeFfmpeg(join(good.slice(dir.length + 1), 'ffmpeg'), '5.1.9-0+deb12u1');
  assert.deepEqual(chooseFfmpeg({ env: { PATH: good }, requireModule: () => pkg }), { path: current, via: 'PATH', passedOver: [] });
  const old = mkdtempSync(join(dir, 'path-old-'));
  fakeFfmpeg(join(old.slice(dir.length + 1), 'ffmpeg'), '3.4.8');
  const oldChoice = chooseFfmpeg({ env: { PATH: old }, requireModule: () => pkg });
  assert.equal(oldChoice.path, pkg);
  assert.equal(oldChoice.via, 'ffmpeg-static');
  assert.match(oldChoice.passedOver[0]?.rejected ?? '', /version 3\.4\.8 is older than 4/);
  const bare = mkdtempSync(join(dir, 'path-bare-'));
  const noVp8 = fakeFfmpeg(join(bare.slice(dir.length + 1), 'ffmpeg'), '6.0', { decoders: ['h264', 'aac', 'opus'] });
  assert.equal(pathFfmpegProblem(noVp8), 'lacks decoder vp8');
});

test('capability lists: protocols, and codecs with the codec a wrapper implements', () => {
  assert.deepEqual([...parseProtocols('Supported file protocols:\nInput:\n  file\n  rtmp\nOutput:\n  file\n  rtmps\n')].sort(), ['file', 'rtmp', 'rtmps']);
  const codecs = parseCodecs('Encoders:\n V..... = Video\n ------\n V..... libx264  libx264 H.264 (codec h264)\n A..... aac  AAC (Advanced Audio Coding)\n');
  assert.deepEqual([...codecs].sort(), ['aac', 'h264', 'libx264']);
  assert.deepEqual(missingCaps({ protocols: new Set(['rtmp']), decoders: new Set(), encoders: new Set(['aac']) }, { encoders: ['libx264', 'aac'], protocols: ['rtmp'] }), ['encoder libx264']);
});

test('the ffmpeg avloc runs has everything the service needs', () => {
  assert.deepEqual(missingCaps(ffmpegCaps(resolveFfmpeg())), []);
});

test('static builds are recognised (they cannot resolve host names): by version or by configuration', () => {
  assert.equal(parseFfmpegVersion('/x', 'ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/\nconfiguration: --enable-static').isStatic, true);
  assert.equal(parseFfmpegVersion('/x', 'ffmpeg version 6.1\nconfiguration: --enable-static --disable-shared').isStatic, true);
  assert.equal(parseFfmpegVersion('/x', 'ffmpeg version 5.1.9-0+deb12u1\nconfiguration: --enable-shared --disable-static').isStatic, false);
});

test('host names become addresses, IPv4 first; the rest of the URL (a token) is kept; a bad name is a clear error', async () => {
  assert.equal(await withAddress('rtmp://localhost:1935/live/cam1?token=a.b-c'), 'rtmp://127.0.0.1:1935/live/cam1?token=a.b-c');
  assert.equal(await withAddress('rtmp://10.1.2.3/live/x'), 'rtmp://10.1.2.3/live/x');
  assert.equal(await withAddress('/some/file.mp4'), '/some/file.mp4');
  await assert.rejects(withAddress('rtmp://no-such-host.invalid/live/x'), (e: unknown) => e instanceof AvlocError && e.code === 'CONFIG_INVALID' && /cannot resolve host "no-such-host\.invalid"/.test(e.message));
});

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

test('an ffmpeg on PATH is used when no package is there', () => {
  const onPath = fakeFfmpeg('ffmpeg', '7.0');
  assert.equal(resolveFfmpeg({ env: { PATH: `/nonexistent:${dir}` }, requireModule: noPackages }), onPath);
});

test('nothing usable → FFMPEG_NOT_FOUND naming everything tried', () => {
  const empty = mkdtempSync(join(dir, 'empty-'));
  const cands = ffmpegCandidates({ env: { PATH: empty }, requireModule: noPackages });
  assert.deepEqual(cands.map((c) => c.via), ['PATH', 'ffmpeg-static', '@ffmpeg-installer/ffmpeg']);
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
