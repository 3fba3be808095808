/**
 * The analysis gate: a filter at the head of a live decoder's video chain whose frame rate can be
 * changed while ffmpeg runs, so frames the model will not get cost only their H.264 decode — no
 * scaling, colour conversion, preview or pipe copy (measured on 720p30: those are about half of a
 * decoder's CPU).
 *
 * ffmpeg 4/5 has no filter that drops frames at a rate settable at run time (`select` and `fps`
 * take no commands). What every build does have: a filter with timeline support is bypassed while
 * its `enable` expression is 0, and `enable` can be replaced by a command, which ffmpeg reads from
 * its stdin (`c<target> <time> <command> <arg>\n`, time -1 = now). So the gate is a
 * `shuffleframes` whose one-entry mapping is -1 (drop the frame) while enabled; its expression
 * enables it for every frame but the first of each 1/fps-second slot of media time, and is 0
 * (every frame passes) when no cap applies. Unlike `framestep` it leaves the link's frame rate
 * alone (a framestep of a huge step divides it to nearly 0, and the JPEG encoder then stalled).
 *
 * The expression keeps state (the next slot to pass) in its variables. ffmpeg evaluates a
 * timeline expression more than once per frame (twice in 5.1), so the decision is remembered per
 * frame time: a second evaluation for the same `t` returns the first one's answer. A new
 * expression starts with fresh variables, so the frame after a change always passes.
 */
export const GATE_TARGET = 'shuffleframes@avloc_gate';

/** The gate's `enable` expression for at most `fps` frames per second; null: every frame passes. */
export function gateExpression(fps: number | null): string {
  if (fps === null) return '0';
  if (!(fps > 0 && Number.isFinite(fps))) throw new RangeError(`gate fps must be positive, got ${fps}`);
  // Few digits: the command line is read into a 255-byte buffer.
  const r = Number(fps.toPrecision(4));
  const slot = `floor(t*${r}+1e-6)`;
  // ld(0): next slot to pass; ld(1): t of the frame last decided; ld(2): that decision (1 = drop).
  // A frame without a time passes.
  const decide = `if(gte(${slot},ld(0)),st(0,${slot}+1)*0,1)`;
  return `if(isnan(t),0,if(eq(t,ld(1)),ld(2),st(1,t)*0+st(2,${decide})))`;
}

/** The filter, for the decoder's graph (quoted so the expression's commas stay inside it). */
export function gateFilter(fps: number | null): string {
  return `${GATE_TARGET}=mapping=-1:enable='${gateExpression(fps)}'`;
}

/** One stdin line that replaces the running gate's rate (ffmpeg's interactive `c` command). */
export function gateCommand(fps: number | null): string {
  return `c${GATE_TARGET} -1 enable ${gateExpression(fps)}\n`;
}

/** ffmpeg's own lines about interactive commands (stderr): expected, not worth logging. */
export function isGateChatter(line: string): boolean {
  return /^(Enter command: |Command reply for stream |Press \[q\] to stop)/.test(line.trim());
}
