import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrlSecrets } from '../../src/media/supervised-process.ts';

test('play keys, tokens and signatures in URLs are masked, the rest of the line kept', () => {
  assert.equal(
    redactUrlSecrets('[error] rtmp://127.0.0.1:1935/live/cam?key=nbNisMacVoOg: Invalid data found when processing input'),
    '[error] rtmp://127.0.0.1:1935/live/cam?key=***: Invalid data found when processing input',
  );
  assert.equal(redactUrlSecrets('rtmp://h/live/x?a=1&token=eyJ.abc.def&sign=00ff done'), 'rtmp://h/live/x?a=1&token=***&sign=*** done');
  assert.equal(redactUrlSecrets('frame=10 keyframe=1 monkey=2'), 'frame=10 keyframe=1 monkey=2', 'only query parameters');
});
