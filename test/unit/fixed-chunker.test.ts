import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FixedChunker } from '../../src/media/fixed-chunker.ts';

test('fixed chunker: exact records across arbitrary chunk boundaries, remainder on flush', () => {
  const c = new FixedChunker(4);
  const out = [...c.push(Uint8Array.from([1, 2, 3])), ...c.push(Uint8Array.from([4, 5, 6, 7, 8, 9, 10]))];
  assert.deepEqual(out.map((r) => [...r]), [[1, 2, 3, 4], [5, 6, 7, 8]]);
  assert.deepEqual([...c.flush()], [9, 10]);
  assert.notEqual(out[0]!.buffer, out[1]!.buffer, 'each record owns its memory');
});
