import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JpegSplitter } from '../../src/media/jpeg-splitter.ts';

// A real 16x16 JPEG written by ffmpeg's mjpeg encoder (captured sample).
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgKCgsKCw0NDQ0NDRAPEBAQEBAQEBAQEBASEhIVFRUSEhIQEBISFBQVFRcXFxUVFRUXFxkZGR4eHBwjIyQrKzP/xABrAAEBAQAAAAAAAAAAAAAAAAAFAwcBAQEAAAAAAAAAAAAAAAAAAAAGEAABAwMDBQEBAQAAAAAAAAACEgMBERMEIQAFQRQiI1EVMTMRAAICAgICAwEAAAAAAAAAAAIBEgMEETIAYUFRBiIT/8AAEQgAEAAQAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8Ay4pzHclxpjVIrmqIEBgYkiIzoIjH0piOm7cb+rg5Ui14Hbh5XpJu0kvZclTSKTRSqV0rXbOAQSfIs0uGfamLVaS6LUqMRn6npHl8jaLDjMcbGBaS/q/2S5uQ1ORLsNL/AKu1qn/Wmqdsj7HnWnagmIGYKH9CKAWKTN/oUwDjxQ/JLtBmYQOzIrKwjiOSHgtyB1aiemYetttPg13/2Q==',
  'base64',
);

test('jpeg splitter: three images fed one byte at a time come out whole', () => {
  const stream = Buffer.concat([JPEG, JPEG, JPEG]);
  const s = new JpegSplitter();
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...s.push(stream.subarray(i, i + 1)));
  assert.equal(got.length, 3);
  for (const img of got) assert.ok(img.equals(JPEG));
  assert.equal(s.dropped, 0);
});
test('jpeg splitter: an FFD9 inside an APP segment does not end the image', () => {
  // SOI, COM segment whose payload contains FF D9, then the rest of the real image after its SOI.
  const com = Buffer.from([0xff, 0xfe, 0x00, 0x06, 0xff, 0xd9, 0xff, 0xd9]);
  const img = Buffer.concat([JPEG.subarray(0, 2), com, JPEG.subarray(2)]);
  const got = new JpegSplitter().push(Buffer.concat([img, JPEG]));
  assert.equal(got.length, 2);
  assert.ok(got[0]!.equals(img));
  assert.ok(got[1]!.equals(JPEG));
});
test('jpeg splitter: garbage before an image is skipped and counted; oversized input is bounded', () => {
  const s = new JpegSplitter();
  const got = s.push(Buffer.concat([Buffer.from([1, 2, 3, 0xff]), JPEG]));
  assert.equal(got.length, 1);
  assert.ok(got[0]!.equals(JPEG));
  assert.equal(s.dropped, 1);
  const small = new JpegSplitter(100);
  assert.deepEqual(small.push(JPEG), []);
  assert.equal(small.dropped, 1);
  assert.equal(small.push(JPEG.subarray(0, 50)).length, 0, 'resyncs and waits for a whole image');
});
