import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../../src/media/line-splitter.ts';

test('line splitter handles \\r progress lines, CRLF and split chunks', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push('a\rb\r\nc'), ['a', 'b']);
  assert.deepEqual(s.push('d\n0123456789abc'), ['cd', '0123456789']);
  assert.equal(s.flush(), null);
});
