import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvlocError } from '../../src/errors.ts';
import {
  BINARY_LAYOUT,
  assembleHeatmap,
  base64Decode,
  base64Encode,
  decodeHeatmapBinary,
  encodeHeatmapBinary,
  encodeHeatmapJson,
  heatmapFromJson,
  parseClientMessage,
  parseServerText,
} from '../../src/wire/protocol.ts';
import type { HeatmapSource } from '../../src/wire/protocol.ts';

function source(withPreview: boolean): HeatmapSource {
  const values = new Float32Array(7 * 5).map((_, i) => Math.fround(Math.sin(i) * 0.9));
  const preview = new Uint8Array(1001).map((_, i) => (i * 37) & 255);
  return {
    type: 'heatmap',
    streamId: 'cam1',
    frame: 42,
    ptsMs: 1400.5,
    captureAtMs: 1_700_000_000_000.25,
    decodedAtMs: 1_700_000_000_010.5,
    doneAtMs: 1_700_000_000_060,
    timings: { decodeMs: 10.25, waitMs: 3, inferenceMs: 40.5 },
    grid: { h: 7, w: 5, values },
    peak: { x: 3, y: 1, u: 0.7, v: 0.21, value: 0.9 },
    sounding: 0.625,
    counters: { decoded: 50, skipped: 4, dropped: 1, analyzed: 45 },
    hasAudio: true,
    batchSize: 2,
    ...(withPreview ? { preview } : {}),
  };
}

const per = { sentAtMs: 1_700_000_000_065.5, queueDropped: 3 };

function assertSame(src: HeatmapSource, got: ReturnType<typeof decodeHeatmapBinary>, preview: boolean): void {
  assert.equal(got.streamId, src.streamId);
  assert.equal(got.frame, src.frame);
  assert.equal(got.ptsMs, src.ptsMs);
  assert.equal(got.captureAtMs, src.captureAtMs);
  assert.equal(got.sentAtMs, per.sentAtMs);
  assert.equal(got.timings.sendMs, per.sentAtMs - src.doneAtMs);
  assert.equal(got.timings.inferenceMs, 40.5);
  assert.deepEqual(got.counters, { ...src.counters, queueDropped: 3 });
  assert.deepEqual(got.peak, src.peak);
  assert.equal(got.sounding, 0.625);
  assert.equal(got.batchSize, 2);
  assert.deepEqual(Array.from(got.grid.values), Array.from(src.grid.values));
  if (preview) assert.deepEqual(got.preview, src.preview);
  else assert.equal(got.preview, undefined);
}

for (const preview of [false, true]) {
  test(`binary heatmap round trip (preview ${preview})`, () => {
    const src = source(true);
    const bytes = assembleHeatmap(encodeHeatmapBinary(src, preview), per);
    assertSame(src, decodeHeatmapBinary(bytes), preview);
  });
  test(`json heatmap round trip (preview ${preview})`, () => {
    const src = source(true);
    const text = new TextDecoder().decode(assembleHeatmap(encodeHeatmapJson(src, preview), per));
    const m = parseServerText(text);
    assert.equal(m.type, 'heatmap');
    if (m.type !== 'heatmap') return;
    assertSame(src, heatmapFromJson(m), preview);
  });
}

test('binary layout: magic, version, fixed offsets and a 4-byte aligned grid', () => {
  const src = source(false);
  const enc = encodeHeatmapBinary(src, false);
  const b = assembleHeatmap(enc, per);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  assert.equal(new TextDecoder().decode(b.subarray(0, 4)), 'AVLH');
  assert.equal(dv.getUint8(BINARY_LAYOUT.version), 1);
  assert.equal(dv.getFloat64(BINARY_LAYOUT.sentAtMs, true), per.sentAtMs);
  assert.equal(dv.getUint32(BINARY_LAYOUT.queueDropped, true), 3);
  const hl = dv.getUint32(BINARY_LAYOUT.headerLength, true);
  const gridAt = (32 + hl + 3) & ~3;
  assert.equal(gridAt % 4, 0);
  assert.equal(b.length, gridAt + 35 * 4);
  assert.equal(dv.getFloat32(gridAt + 4, true), src.grid.values[1]);
  assert.equal(enc.byteLength, b.length);
});

test('decoding a binary heatmap from an unaligned view works', () => {
  const src = source(true);
  const b = assembleHeatmap(encodeHeatmapBinary(src, true), per);
  const big = new Uint8Array(b.length + 1);
  big.set(b, 1);
  assertSame(src, decodeHeatmapBinary(big.subarray(1)), true);
});

function assertInvalid(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof AvlocError && e.code === 'PROTOCOL_INVALID');
}

test('malformed binary heatmaps give PROTOCOL_INVALID', () => {
  const good = assembleHeatmap(encodeHeatmapBinary(source(false), false), per);
  assertInvalid(() => decodeHeatmapBinary(good.subarray(0, 10)));
  const badMagic = good.slice();
  badMagic[0] = 0;
  assertInvalid(() => decodeHeatmapBinary(badMagic));
  const badVersion = good.slice();
  badVersion[4] = 9;
  assertInvalid(() => decodeHeatmapBinary(badVersion));
  assertInvalid(() => decodeHeatmapBinary(good.subarray(0, good.length - 4))); // grid cut short
  const longHeader = good.slice();
  new DataView(longHeader.buffer).setUint32(BINARY_LAYOUT.headerLength, 1 << 30, true);
  assertInvalid(() => decodeHeatmapBinary(longHeader));
  const badJson = good.slice();
  badJson[32] = 0x7b + 1;
  assertInvalid(() => decodeHeatmapBinary(badJson));
  const trailing = new Uint8Array(good.length + 4);
  trailing.set(good);
  assertInvalid(() => decodeHeatmapBinary(trailing));
});

test('client messages: valid ones parse with defaults, malformed ones give PROTOCOL_INVALID', () => {
  assert.deepEqual(parseClientMessage('{"type":"subscribe","streams":"*"}'), {
    type: 'subscribe',
    streams: '*',
    format: 'binary',
    preview: false,
  });
  assert.deepEqual(parseClientMessage('{"type":"unsubscribe","streams":["a"]}'), { type: 'unsubscribe', streams: ['a'] });
  assert.deepEqual(parseClientMessage('{"type":"ping","id":7}'), { type: 'ping', id: 7 });
  for (const bad of [
    'not json',
    '[]',
    '{"type":"dance"}',
    '{"type":"subscribe"}',
    '{"type":"subscribe","streams":"all"}',
    '{"type":"subscribe","streams":["a"],"format":"xml"}',
    '{"type":"subscribe","streams":["a"],"extra":1}',
    '{"type":"subscribe","streams":[""]}',
  ]) {
    assertInvalid(() => parseClientMessage(bad));
  }
});

test('server text: a JSON heatmap with the wrong number of grid values is PROTOCOL_INVALID', () => {
  const text = new TextDecoder().decode(assembleHeatmap(encodeHeatmapJson(source(false), false), per));
  const obj = JSON.parse(text) as { grid: { values: number[] } };
  obj.grid.values.pop();
  const m = parseServerText(JSON.stringify(obj));
  assert.equal(m.type, 'heatmap');
  if (m.type === 'heatmap') assertInvalid(() => heatmapFromJson(m));
  assertInvalid(() => parseServerText('{"type":"heatmap"}'));
});

test('base64 matches Buffer for every tail length', () => {
  for (const n of [0, 1, 2, 3, 4, 5, 100, 6001]) {
    const b = new Uint8Array(n).map((_, i) => (i * 131 + 7) & 255);
    const s = base64Encode(b);
    assert.equal(s, Buffer.from(b).toString('base64'));
    assert.deepEqual(base64Decode(s), b);
  }
  assert.throws(() => base64Decode('ab$d'));
});
