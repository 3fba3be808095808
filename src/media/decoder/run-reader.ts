/**
 * One ffmpeg run's outputs turned into frames and audio chunks: the rgb24 pipe cut into frames,
 * the JPEG pipe into previews, the f32le pipe into audio chunks, and the showinfo lines on
 * stderr into each frame's pts; the FrameJoiner pairs them (decoder-args.ts names the pipes).
 * Times go on the Decoder's timeline (timeline.ts), which outlives the run.
 *
 * captureAtMs = pts + the smallest (arrival − pts) seen in the run, so it never lies in the future;
 * it is re-anchored in every run (a restart's gap is not media time).
 */
import type { Readable } from 'node:stream';
import { nowMs, type AudioChunk, type VideoFrame } from '../../pipeline/types.ts';
import { FD_AUDIO, FD_JPEG, FD_RGB } from '../decoder-args.ts';
import { FixedChunker } from '../fixed-chunker.ts';
import { FrameJoiner, type JoinedFrame } from '../frame-joiner.ts';
import { JpegSplitter } from '../jpeg-splitter.ts';
import { PreviewRate } from '../preview-rate.ts';
import { isShowinfoLine, parseShowinfoLine, ShowinfoClock } from '../showinfo-parser.ts';
import { InputStreamsParser } from '../stream-info.ts';
import type { SupervisedProcess } from '../supervised-process.ts';
import type { DecoderCounters, StreamInfo } from './events.ts';
import type { Timeline } from './timeline.ts';

/** Where a run's results go: the Decoder's counters, timeline and subjects. */
export interface RunSink {
  readonly streamId: string;
  readonly counters: DecoderCounters;
  readonly timeline: Timeline;
  /** The decoder was closed: nothing more goes out. */
  closed(): boolean;
  /** What this run found in the input, told before its first frame or audio chunk. */
  info(info: StreamInfo): void;
  frame(frame: VideoFrame): void;
  audio(chunk: AudioChunk): void;
  /** The first frame of a run after a restart: the stream is flowing again. */
  resumed(): void;
}

/** What this run decodes (the same for every run, but for a missing audio track learned on the way). */
export interface RunShape {
  readonly width: number;
  readonly height: number;
  readonly sampleRate: number;
  readonly withAudio: boolean;
  readonly previewHeight: number | null;
  readonly previewFps: number | undefined;
  readonly audioChunkMs: number;
}

export class RunReader {
  /** What ffmpeg's log says of the input (its streams, whether it opened). */
  readonly input = new InputStreamsParser();
  private readonly clock = new ShowinfoClock();
  private readonly joiner: FrameJoiner;
  private readonly previewRate: PreviewRate | null;
  private readonly rgb: FixedChunker;
  private readonly pcm: FixedChunker;
  /** Where this run's first sample lies on the continuous audio timeline. */
  private readonly runSampleBase: number;
  private frameCount = 0;
  private anchor: { wall: number; pts: number } | null = null;
  private announced = false;
  private runSamples = 0;

  /** Call after the timeline's startRun: the run starts where that left it. */
  constructor(
    private readonly sink: RunSink,
    private readonly shape: RunShape,
  ) {
    this.joiner = new FrameJoiner(shape.previewHeight !== null);
    this.previewRate = shape.previewHeight !== null && shape.previewFps !== undefined ? new PreviewRate(shape.previewFps) : null;
    this.rgb = new FixedChunker(shape.width * shape.height * 3);
    const chunkSamples = Math.max(1, Math.round((shape.audioChunkMs * shape.sampleRate) / 1000));
    this.pcm = new FixedChunker(chunkSamples * 4);
    this.runSampleBase = sink.timeline.audioSamplesOut;
  }

  /** Frames this run delivered. */
  get frames(): number {
    return this.frameCount;
  }

  /** ffmpeg's stderr, line by line: showinfo lines time the frames, the others describe the input. */
  readonly onLine = (line: string): void => {
    if (isShowinfoLine(line)) {
      const ev = parseShowinfoLine(line);
      const t = ev ? this.clock.push(ev) : undefined;
      if (t) this.emitAll(this.joiner.pushPts(t.ms, this.previewRate ? this.previewRate.select(t.seconds) : true));
      return;
    }
    if (this.input.push(line)) this.announce();
  };

  /** Reads the run's output pipes; returns the media pipes (for pause and resume). */
  attach(proc: SupervisedProcess): Readable[] {
    const { withAudio, previewHeight } = this.shape;
    proc.pipe(FD_RGB).on('data', (b: Buffer) => this.emitAll(this.rgb.push(b).flatMap((f) => this.joiner.pushRgb(f))));
    if (previewHeight !== null) {
      const jpegs = new JpegSplitter();
      proc.pipe(FD_JPEG).on('data', (b: Buffer) => {
        this.emitAll(jpegs.push(b).flatMap((j) => this.joiner.pushJpeg(j)));
        this.sink.counters.jpegDropped = jpegs.dropped;
      });
    }
    if (withAudio) {
      proc.pipe(FD_AUDIO).on('data', (b: Buffer) => {
        for (const c of this.pcm.push(b)) this.emitAudio(c);
      });
    }
    return [proc.pipe(FD_RGB), ...(withAudio ? [proc.pipe(FD_AUDIO)] : []), ...(previewHeight !== null ? [proc.pipe(FD_JPEG)] : [])];
  }

  /** After ffmpeg exited: what the pipes still held, the last frames and the audio tail. */
  drain(): void {
    this.emitAll(this.joiner.flush());
    if (this.shape.withAudio) {
      const tail = this.pcm.flush();
      this.emitAudio(tail.slice(0, tail.length - (tail.length % 4)));
    }
  }

  /**
   * Stream info goes out before the first frame or audio chunk of a run, always: consumers
   * (av-sync) wait for it to know whether there is audio. Normally the "Stream mapping:" line
   * triggers it; the calls in emit/emitAudio only cover an ffmpeg whose log we failed to read.
   */
  private announce(): void {
    if (this.announced) return;
    this.announced = true;
    const s = this.input.snapshot();
    if (s.fps && s.fps > 0 && s.fps < 1000) this.sink.timeline.framePeriodMs = 1000 / s.fps;
    this.sink.info({ ...s, hasVideo: s.hasVideo || this.frameCount > 0, audioDecoded: this.shape.withAudio && (s.hasAudio || this.runSamples > 0) });
  }

  private emitAll(list: JoinedFrame[]): void {
    for (const f of list) this.emit(f);
    this.sink.counters.joinDropped = this.joiner.dropped;
  }

  private emit(jf: JoinedFrame): void {
    const sink = this.sink;
    if (sink.closed()) return;
    this.announce();
    const { ptsMs: pts, fixed } = sink.timeline.placeFrame(jf.ptsMs, this.frameCount);
    if (fixed) sink.counters.ptsFixed++;
    const decodedAtMs = nowMs();
    // Capture time = pts + the smallest (arrival − pts) seen in this run. The first frame usually
    // arrives late (probing, the server's GOP cache sent as a burst), so anchoring on it alone put
    // capture times in the future; the earliest-arriving frame is the best estimate of real time.
    if (this.anchor && decodedAtMs - pts < this.anchor.wall - this.anchor.pts) this.anchor = { wall: decodedAtMs, pts };
    if (!this.anchor) {
      this.anchor = { wall: decodedAtMs, pts };
      if (sink.counters.restarts > 0) sink.resumed();
    }
    const anchor = this.anchor;
    this.frameCount++;
    const { width, height } = this.shape;
    const frame: VideoFrame = {
      streamId: sink.streamId,
      index: sink.counters.frames++,
      ptsMs: pts,
      decodedAtMs,
      captureAtMs: anchor.wall + (pts - anchor.pts),
      width,
      height,
      rgb: jf.rgb,
      ...(jf.jpeg ? { jpeg: jf.jpeg } : {}),
    };
    sink.frame(frame);
  }

  private emitAudio(bytes: Uint8Array): void {
    const sink = this.sink;
    if (sink.closed() || bytes.length < 4) return;
    this.announce();
    const { sampleRate } = this.shape;
    const n = bytes.length >> 2;
    // Fresh, 4-byte aligned buffers from FixedChunker, so the view needs no copy.
    const samples = new Float32Array(bytes.buffer, bytes.byteOffset, n);
    const first = this.runSampleBase + this.runSamples;
    this.runSamples += n;
    sink.timeline.audioSamplesOut = this.runSampleBase + this.runSamples;
    sink.counters.audioSamples += n;
    sink.audio({ streamId: sink.streamId, ptsMs: (first * 1000) / sampleRate, sampleRate, samples });
  }
}
