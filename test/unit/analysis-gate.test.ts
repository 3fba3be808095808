import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gateCommand, gateExpression, isGateChatter } from '../../src/media/analysis-gate.ts';

test('analysis gate: the command is one line for ffmpeg\'s `c` key, its argument within ffmpeg\'s 255 bytes', () => {
  assert.equal(gateCommand(null), 'cshuffleframes@avloc_gate -1 enable 0\n');
  for (const fps of [0.5, 1, 7.3333333, 12.5, 29.97, 240]) {
    const cmd = gateCommand(fps);
    assert.match(cmd, /^cshuffleframes@avloc_gate -1 enable \S+\n$/, 'no space inside the argument, one newline at the end');
    assert.ok(gateExpression(fps).length < 255, `${fps}: ${gateExpression(fps).length} bytes`);
  }
  assert.match(gateExpression(7.3333333), /t\*7\.333\+/, 'four significant digits');
  assert.throws(() => gateExpression(0), RangeError);
  assert.throws(() => gateExpression(Number.NaN), RangeError);
});

test('analysis gate: ffmpeg\'s replies to commands are recognised as chatter, other lines are not', () => {
  assert.ok(isGateChatter('Enter command: <target>|all <time>|-1 <command>[ <argument>]'));
  assert.ok(isGateChatter('Command reply for stream 0: ret:0 res:'));
  assert.ok(isGateChatter('[info] Press [q] to stop, [?] for help'.replace('[info] ', '')));
  assert.ok(!isGateChatter('[error] rtmp://x: Input/output error'));
});
