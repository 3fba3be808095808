import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LatestSlot } from '../../web-viewer/src/latest-slot.ts';
import { RateMeter } from '../../web-viewer/src/rate-meter.ts';

describe('viewer latest-only slot', () => {
  it('keeps only the newest value and counts the ones it replaced', () => {
    const s = new LatestSlot<number>();
    assert.equal(s.put(1), undefined);
    assert.equal(s.put(2), 1);
    assert.equal(s.put(3), 2);
    assert.equal(s.replaced, 2);
    assert.equal(s.take(), 3);
    assert.equal(s.take(), undefined);
    assert.equal(s.pending, false);
  });
});

describe('viewer rate meter', () => {
  it('measures a steady rate over its window', () => {
    const m = new RateMeter(2000, 64);
    for (let t = 0; t <= 5000; t += 100) m.tick(t); // 10 per second
    assert.ok(Math.abs(m.rate(5000) - 10) < 0.6, `rate ${m.rate(5000)}`);
  });

  it('falls to zero when events stop', () => {
    const m = new RateMeter(1000, 64);
    for (let t = 0; t < 1000; t += 50) m.tick(t);
    assert.equal(m.rate(5000), 0);
  });

  it('stays bounded: more events than capacity only shorten its memory', () => {
    const m = new RateMeter(10_000, 16);
    for (let t = 0; t < 1000; t += 10) m.tick(t); // 100 per second, 100 events into 16 slots
    const r = m.rate(1000);
    assert.ok(r > 50 && r < 200, `rate ${r}`);
  });
});
