import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { colorize, normalizeGrid, upsampleBilinear } from '../../web-viewer/src/heatmap-math.ts';
import { buildLut } from '../../src/wire/colormap.ts';

describe('viewer heatmap math', () => {
  it('min–max maps the frame minimum to 0 and maximum to 1', () => {
    assert.deepEqual([...normalizeGrid([-0.2, 0.1, 0.4], 'minmax')].map((v) => +v.toFixed(6)), [0, 0.5, 1]);
  });

  it('min–max of a flat frame is all zeros, not NaN', () => {
    assert.deepEqual([...normalizeGrid([0.3, 0.3, 0.3, 0.3], 'minmax')], [0, 0, 0, 0]);
  });

  it('fixed maps the cosine range [-1, 1] to [0, 1] and clamps outside it', () => {
    assert.deepEqual([...normalizeGrid([-1, 0, 1, 1.5, -3], 'fixed')], [0, 0.5, 1, 1, 0]);
  });

  it('sounding scales min–max by the frame\'s P(sounding), and is plain min–max without a score', () => {
    const g = [-0.2, 0.1, 0.4];
    assert.deepEqual([...normalizeGrid(g, 'sounding', undefined, 0.5)].map((v) => +v.toFixed(6)), [0, 0.25, 0.5]);
    assert.deepEqual([...normalizeGrid(g, 'sounding', undefined, 0.02)].map((v) => +v.toFixed(6)), [0, 0.01, 0.02]);
    assert.deepEqual([...normalizeGrid(g, 'sounding', undefined, null)].map((v) => +v.toFixed(6)), [0, 0.5, 1]);
    assert.deepEqual([...normalizeGrid(g, 'minmax', undefined, 0.02)].map((v) => +v.toFixed(6)), [0, 0.5, 1], 'min–max ignores the score');
  });

  it('bilinear upsampling keeps cell centres (half-pixel, align_corners=False) and clamps edges', () => {
    // 1×2 grid [0, 1] → 1×4: samples at x = -0.25, 0.25, 0.75, 1.25 in grid coordinates.
    assert.deepEqual([...upsampleBilinear([0, 1], 1, 2, 1, 4)], [0, 0.25, 0.75, 1]);
    // A same-size resize is the identity.
    const g = [1, 2, 3, 4, 5, 6];
    assert.deepEqual([...upsampleBilinear(g, 2, 3, 2, 3)], g);
  });

  it('bilinear upsampling of a single hot cell peaks at that cell', () => {
    const h = 7;
    const w = 7;
    const src = new Array<number>(h * w).fill(0);
    src[2 * w + 5] = 1;
    const out = upsampleBilinear(src, h, w, 70, 70);
    let best = 0;
    for (let i = 1; i < out.length; i++) if ((out[i] ?? 0) > (out[best] ?? 0)) best = i;
    const bx = best % 70;
    const by = Math.floor(best / 70);
    assert.ok(Math.abs(bx - 55) <= 1 && Math.abs(by - 25) <= 1, `peak at (${bx}, ${by}), expected near (55, 25)`);
  });

  it('colorize reads the LUT and writes opaque pixels', () => {
    const lut = buildLut('jet');
    const px = colorize([0, 1], lut, new Uint8ClampedArray(8));
    assert.deepEqual([...px.slice(0, 4)], [lut[0], lut[1], lut[2], 255]);
    assert.deepEqual([...px.slice(4, 8)], [lut[765], lut[766], lut[767], 255]);
    // jet: blue at the bottom, red at the top.
    assert.ok((px[2] ?? 0) > (px[0] ?? 0) && (px[4] ?? 0) > (px[6] ?? 0));
  });

  it('every colour map has 256 RGB entries', () => {
    for (const name of ['turbo', 'jet'] as const) assert.equal(buildLut(name).length, 768);
  });
});
