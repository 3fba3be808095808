import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClockOffset } from '../../web-viewer/src/clock-offset.ts';

describe('viewer clock offset', () => {
  it('is 0 before any round trip', () => {
    assert.equal(new ClockOffset().offsetMs, 0);
  });

  it('recovers a fixed skew from a symmetric round trip', () => {
    const c = new ClockOffset();
    // Server clock is 5000 ms ahead; 20 ms each way.
    c.add(1000, 1000 + 20 + 5000, 1040);
    assert.equal(c.offsetMs, 5000);
    assert.equal(c.rttMs, 40);
  });

  it('trusts the shortest round trip, and forgets old samples', () => {
    const c = new ClockOffset(2);
    c.add(0, 5010, 20); // rtt 20, offset 5000
    c.add(100, 5300, 400); // rtt 300, queued on the way back: offset 5050 (wrong)
    assert.equal(c.offsetMs, 5000);
    c.add(1000, 6100, 1200); // rtt 200 → offset 5000; the rtt-20 sample is now evicted
    assert.equal(c.rttMs, 200);
    assert.equal(c.offsetMs, 5000);
  });

  it('ignores a pong that arrived before its ping was sent', () => {
    const c = new ClockOffset();
    c.add(100, 999, 50);
    assert.equal(c.rttMs, undefined);
  });
});
