import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseShowinfoLine, ShowinfoClock } from '../../src/media/showinfo-parser.ts';

// Captured from ffmpeg 5.1 (`-loglevel level+info`) and the 2018 static 4.x build.
const SHOWINFO_51 = [
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] config in time_base: 1/12800, frame_rate: 25/1',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] config out time_base: 0/0, frame_rate: 0/0',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] n:   0 pts:      0 pts_time:0       pos:      306 fmt:rgb24 sar:4/3 s:224x224 i:P iskey:1 type:I checksum:1581BD35 plane_checksum:[1581BD35] mean:[123] stdev:[122.1]',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info]   side data - User Data Unregistered:',
  '[Parsed_showinfo_3 @ 0x55ce66829e80] [info] n:   1 pts:    512 pts_time:0.04    pos:     9368 fmt:rgb24 sar:4/3 s:224x224 i:P iskey:0 type:P',
];
const SHOWINFO_4X_LONG = '[Parsed_showinfo_2 @ 0x3b231e00] [info] n:98765 pts:47407200000 pts_time:3.70369e+06 pos:-1 fmt:rgb24 sar:1/1 s:224x224 i:P iskey:0 type:P';

test('showinfo: time base line, then frames converted from integer pts', () => {
  const clock = new ShowinfoClock();
  const out = SHOWINFO_51.map((l) => parseShowinfoLine(l)).flatMap((ev) => (ev ? [clock.push(ev)] : []));
  assert.deepEqual(out.filter(Boolean), [
    { n: 0, ms: 0, seconds: 0 },
    { n: 1, ms: 40, seconds: 0.04 },
  ]);
});
test('showinfo: integer pts keeps millisecond precision where pts_time has only 6 digits', () => {
  const clock = new ShowinfoClock();
  clock.push({ kind: 'timebase', num: 1, den: 12800 });
  const ev = parseShowinfoLine(SHOWINFO_4X_LONG);
  assert.ok(ev && ev.kind === 'frame');
  assert.equal(ev.ptsTime, 3.70369e6); // what pts_time alone would give: 3703690 s
  assert.deepEqual(clock.push(ev), { n: 98765, ms: 3703687500, seconds: 47407200000 * (1 / 12800) });
});
test('showinfo: NOPTS frames are reported with a null time; other filters are ignored', () => {
  const ev = parseShowinfoLine('[Parsed_showinfo_1 @ 0x1] [info] n:   7 pts:NOPTS pts_time:NOPTS pos: -1 fmt:rgb24');
  assert.deepEqual(ev, { kind: 'frame', n: 7, pts: null, ptsTime: null });
  assert.equal(new ShowinfoClock().push(ev!)?.ms, null);
  assert.ok(Number.isNaN(new ShowinfoClock().push(ev!)?.seconds), 'no pts: NaN seconds, as ffmpeg\'s t');
  assert.equal(parseShowinfoLine('[Parsed_ashowinfo_0 @ 0x1] [info] n:0 pts:0 pts_time:0'), null);
  assert.equal(parseShowinfoLine('[info] frame=   27 fps= 13 q=-0.0'), null);
});
