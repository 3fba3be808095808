/**
 * What ffmpeg says about its input, read from the `Input #0` section of its stderr:
 *   Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 320x240 [...], 25 fps, 25 tbr, ...
 *   Stream #0:1(und): Audio: aac (LC), 44100 Hz, mono, fltp, 69 kb/s
 * Output sections also print "Stream #0:N" lines, so only lines between "Input #0" and the
 * "Stream mapping:"/"Output #" line that follows count.
 */
export interface InputStreams {
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  readonly videoCodec: string | null;
  readonly audioCodec: string | null;
  /** Nominal frame rate ("25 fps", else "25 tbr"); null when ffmpeg could not tell. */
  readonly fps: number | null;
  readonly width: number | null;
  readonly height: number | null;
  readonly audioSampleRate: number | null;
}

const INPUT_STREAM = /Stream #0:\d+\S*: (Video|Audio|Data|Subtitle|Attachment): (\w+)/;

export class InputStreamsParser {
  private section: 'before' | 'input' | 'after' = 'before';
  private info: { -readonly [K in keyof InputStreams]: InputStreams[K] } = {
    hasVideo: false,
    hasAudio: false,
    videoCodec: null,
    audioCodec: null,
    fps: null,
    width: null,
    height: null,
    audioSampleRate: null,
  };

  /** True once the input section is over (ffmpeg has finished probing). */
  get complete(): boolean {
    return this.section === 'after';
  }

  /** True once ffmpeg printed an `Input #0` header (the input was opened and probed). */
  get opened(): boolean {
    return this.section !== 'before';
  }

  /** Feeds one stderr line; returns true when this line completed the input section. */
  push(line: string): boolean {
    if (this.section === 'before') {
      if (/\bInput #0\b/.test(line)) this.section = 'input';
      return false;
    }
    if (this.section === 'after') return false;
    if (/Stream mapping:|\bOutput #\d/.test(line)) {
      this.section = 'after';
      return true;
    }
    const m = INPUT_STREAM.exec(line);
    if (!m) return false;
    const kind = m[1];
    const codec = m[2] ?? null;
    if (kind === 'Video' && !this.info.hasVideo) {
      this.info.hasVideo = true;
      this.info.videoCodec = codec;
      const size = /, (\d{2,5})x(\d{2,5})\b/.exec(line);
      if (size) {
        this.info.width = Number(size[1]);
        this.info.height = Number(size[2]);
      }
      const fps = /, ([\d.]+)(k?) fps\b/.exec(line) ?? /, ([\d.]+)(k?) tbr\b/.exec(line);
      if (fps) this.info.fps = Number(fps[1]) * (fps[2] === 'k' ? 1000 : 1);
    } else if (kind === 'Audio' && !this.info.hasAudio) {
      this.info.hasAudio = true;
      this.info.audioCodec = codec;
      const hz = /, (\d+) Hz\b/.exec(line);
      if (hz) this.info.audioSampleRate = Number(hz[1]);
    }
    return false;
  }

  snapshot(): InputStreams {
    return { ...this.info };
  }
}

/** Why an ffmpeg run failed, judged from its stderr (pure). */
export type FfmpegFailure =
  /** The graph asked for an audio stream the input does not have: rerun without audio. */
  | 'missing-audio'
  /** The input has no video stream at all. */
  | 'no-video'
  /** The input cannot be demuxed or decoded (garbage, unsupported codec): retrying will not help. */
  | 'undecodable'
  /** Anything else (network drop, killed, ...): may succeed on a retry. */
  | 'other';

const UNDECODABLE = [
  /Invalid data found when processing input/,
  /Decoder \(codec [^)]*\) not found/,
  /Unknown decoder/,
  /Could not find codec parameters/,
  /could not find codec parameters/,
  /moov atom not found/,
  /Unsupported codec/,
  /Failed to open codec/,
  /Error while opening decoder/,
  /does not contain any stream/,
];

export function classifyFailure(lines: readonly string[], input: InputStreams, inputOpened: boolean): FfmpegFailure {
  const text = lines.join('\n');
  if (/Stream specifier ':a(:0)?' in filtergraph description .* matches no streams/.test(text)) {
    return input.hasVideo || !inputOpened ? 'missing-audio' : 'no-video';
  }
  if (/Stream specifier ':v(:0)?' in filtergraph description .* matches no streams/.test(text)) return 'no-video';
  if (inputOpened && !input.hasVideo && input.hasAudio) return 'no-video';
  if (UNDECODABLE.some((re) => re.test(text))) return 'undecodable';
  return 'other';
}
