import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClockOffset } from '../../web-viewer/src/clock-offset.ts';

describe('viewer clock offset', () => {
  it('is 0 before any round trip', () => {
    assert.equal(new ClockOffset().offsetMs, 0);
  });

  it('recovers a large skew to within half a round trip', () => {
    const c = new ClockOffset();
    // Server clock is 5000 ms ahead; 20 ms each way.
    c.add(1000, 1000 + 20 + 5000, 1040);
    assert.equal(c.rttMs, 40);
    assert.ok(Math.abs(c.offsetMs - 5000) <= 20, `offset ${c.offsetMs}`);
  });

  it('stays 0 when the round trip cannot tell a skew apart from queueing (same host)', () => {
    const c = new ClockOffset();
    // Same clock; the pong was stamped late (server busy): the naive estimate would be +15 ms.
    c.add(0, 35, 40);
    assert.equal(c.offsetMs, 0);
  });

  it('trusts the shortest round trip, and forgets old samples', () => {
    const c = new ClockOffset(2);
    c.add(0, 5010, 20); // rtt 20, offset 5000 ± 10
    c.add(100, 5300, 400); // rtt 300, queued on the way back: 5050 ± 150
    assert.ok(Math.abs(c.offsetMs - 5000) <= 10);
    c.add(1000, 6100, 1200); // rtt 200 → 5000 ± 100; the rtt-20 sample is now evicted
    assert.equal(c.rttMs, 200);
    assert.ok(Math.abs(c.offsetMs - 5000) <= 100);
  });

  it('ignores a pong that arrived before its ping was sent', () => {
    const c = new ClockOffset();
    c.add(100, 999, 50);
    assert.equal(c.rttMs, undefined);
  });
});
