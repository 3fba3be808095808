import { execFile } from 'node:child_process';
import { AvlocError } from '../errors.ts';
import { InputStreamsParser, type InputStreams } from '../media/stream-info.ts';

/**
 * What is in the input, asked of ffmpeg before anything is written: `ffmpeg -i INPUT` with no
 * output prints the input's streams and duration and exits (code 1, "At least one output file must
 * be specified"). Offline analysis refuses up front an input that cannot be read, has no video, or
 * has no audio (a localization of silence would be a meaningless overlay), so a failed run never
 * leaves output files behind.
 */
export interface ProbedInput {
  readonly streams: InputStreams;
  /** From "Duration: HH:MM:SS.ss"; null when ffmpeg says N/A (a stream without a known end). */
  readonly durationMs: number | null;
}

const DURATION = /Duration:\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)/;

/** Pure: the stderr of `ffmpeg -i INPUT` → what it says, or null when it never opened the input. */
export function parseProbe(stderr: string): ProbedInput | null {
  const parser = new InputStreamsParser();
  let durationMs: number | null = null;
  for (const line of stderr.split(/\r?\n/)) {
    parser.push(line);
    const d = DURATION.exec(line);
    if (d && durationMs === null) durationMs = (Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3])) * 1000;
  }
  if (!parser.opened) return null;
  return { streams: parser.snapshot(), durationMs };
}

/** The last meaningful stderr line, for an error message ("No such file or directory", ...). */
function reason(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/must be specified/.test(l));
  return lines.at(-1) ?? 'ffmpeg could not open it';
}

export async function probeInput(ffmpegPath: string, ffmpegInput: readonly string[], label: string, timeoutMs = 30_000): Promise<ProbedInput> {
  const stderr = await new Promise<string>((resolve, reject) => {
    execFile(ffmpegPath, ['-hide_banner', '-nostdin', ...ffmpegInput], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, _out, errText) => {
      // Exit code 1 is expected (no output given); only a failure to run at all is an error here.
      const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      if (e && (e.code === 'ENOENT' || e.code === 'EACCES')) reject(new AvlocError('FFMPEG_NOT_FOUND', `cannot run ${ffmpegPath}: ${e.message}`, { cause: e }));
      else if (e?.killed) reject(new AvlocError('FFMPEG_START_TIMEOUT', `${label}: ffmpeg did not finish probing it within ${timeoutMs} ms`, { cause: e }));
      else resolve(String(errText));
    });
  });
  const probed = parseProbe(stderr);
  if (!probed) throw new AvlocError('DECODE_FAILED', `cannot read ${label}: ${reason(stderr)}`);
  const s = probed.streams;
  if (!s.hasVideo) {
    throw new AvlocError('STREAM_NO_VIDEO', `${label} has no video stream${s.hasAudio ? ` (only audio, ${s.audioCodec})` : ''}: there is no picture to localize the sound in`);
  }
  if (!s.hasAudio) {
    throw new AvlocError('STREAM_NO_AUDIO', `${label} has no audio stream (video ${s.videoCodec} only): there is no sound to localize`);
  }
  return probed;
}
