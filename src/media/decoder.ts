import type { Readable } from 'node:stream';
import { Subject, type Observable } from 'rxjs';
import { AvlocError, describeError } from '../errors.ts';
import type { Source } from './source.ts';
import { createLogger, type Logger } from '../log.ts';
import { nowMs, type AudioChunk, type VideoFrame } from '../pipeline/types.ts';
import { buildDecoderArgs, FD_AUDIO, FD_JPEG, FD_RGB } from './decoder-args.ts';
import { resolveFfmpeg } from './ffmpeg-path.ts';
import { FixedChunker } from './fixed-chunker.ts';
import { FrameJoiner, type JoinedFrame } from './frame-joiner.ts';
import { JpegSplitter } from './jpeg-splitter.ts';
import { PreviewRate } from './preview-rate.ts';
import { isShowinfoLine, parseShowinfoLine, ShowinfoClock } from './showinfo-parser.ts';
import { classifyFailure, InputStreamsParser, type InputStreams } from './stream-info.ts';
import { SupervisedProcess } from './supervised-process.ts';

/**
 * One ffmpeg child per Source, turned into frames$ (rgb24 at the model size, with pts and optional
 * JPEG preview) and audio$ (f32le mono at the model rate, in chunks of `audioChunkMs`).
 *
 * Timeline: within one ffmpeg run, video pts come from showinfo and audio sample i is at i / rate,
 * both on ffmpeg's origin (input start time = 0). A live source whose ffmpeg dies is restarted with
 * exponential backoff; the new run's timeline is shifted to start where the previous one ended
 * (max of last frame pts + one frame period and the end of the audio), and the audio gap up to
 * there is filled with silence, so pts stay monotonic and audio stays contiguous across restarts.
 * captureAtMs = pts + the smallest (arrival − pts) seen in the run, so it never lies in the future;
 * it is re-anchored in every run (the restart gap is not media time).
 *
 * Subjects are hot: subscribe before start(). Errors are reported on events$, never as Observable
 * errors, so one broken stream cannot tear down a merged pipeline; all three complete when the
 * decoder stops (end of file, fatal error, close()).
 */
export interface StreamInfo extends InputStreams {
  /** Whether audio$ carries the source's audio (false: no audio track, or it could not be used). */
  readonly audioDecoded: boolean;
}

export type DecoderEvent =
  | { readonly type: 'info'; readonly streamId: string; readonly info: StreamInfo }
  | { readonly type: 'restart'; readonly streamId: string; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  /** The first frame after a restart: the stream is flowing again. */
  | { readonly type: 'resumed'; readonly streamId: string; readonly restarts: number }
  | { readonly type: 'error'; readonly streamId: string; readonly error: AvlocError; readonly fatal: boolean }
  | { readonly type: 'ended'; readonly streamId: string; readonly reason: DecoderEndReason };

export type DecoderEndReason = 'eof' | 'closed' | 'failed';

export interface DecoderCounters {
  frames: number;
  audioSamples: number;
  /** ffmpeg runs started after a failure (not counting the rerun that drops a missing audio track). */
  restarts: number;
  /** Frames or previews lost because a pipe ran ahead of the others (see FrameJoiner). */
  joinDropped: number;
  /** Preview JPEGs discarded as corrupt or oversized. */
  jpegDropped: number;
  /** Frames whose pts was not after the previous one and had to be nudged forward. */
  ptsFixed: number;
  /** Silence samples inserted to keep audio contiguous across restarts. */
  silencePadded: number;
}

export interface RestartPolicy {
  /** Consecutive failed runs tolerated before giving up (a run that produced frames resets it). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface DecoderOptions {
  readonly source: Pick<Source, 'id' | 'ffmpegInput' | 'live'>;
  /** Model input size (model.json visual.width/height). */
  readonly width: number;
  readonly height: number;
  /** Model audio rate (model.json audio.sampleRate). */
  readonly sampleRate: number;
  /** JPEG previews at this height (aspect kept); omit or null for none. */
  readonly previewHeight?: number | null;
  readonly previewQuality?: number;
  /** At most this many previews per second (live); omit for a preview with every frame. */
  readonly previewFps?: number;
  /** Deliver only the first frame of each 1/N s slot (offline `--fps N`, live pipeline.maxFpsPerStream; see decoder-args). */
  readonly selectFps?: number;
  /** Audio chunk length (default 20 ms). */
  readonly audioChunkMs?: number;
  readonly ffmpegPath?: string;
  readonly logger?: Logger;
  /** Time for ffmpeg to open the input and produce its first byte (default 15 s live, 10 s file). */
  readonly startTimeoutMs?: number;
  /** Restarts apply to live sources only; a file that ends or fails is done. */
  readonly restart?: Partial<RestartPolicy>;
  readonly killGraceMs?: number;
}

const DEFAULT_RESTART: RestartPolicy = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 5000 };
/** Never pad more than this much silence at a restart (a bogus end time must not allocate GBs). */
const MAX_PAD_MS = 2000;

interface RunResult {
  readonly frames: number;
  readonly failure: ReturnType<typeof classifyFailure> | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly startError: unknown;
  readonly tail: string;
  readonly input: InputStreams;
}

export class Decoder {
  readonly frames$: Observable<VideoFrame>;
  readonly audio$: Observable<AudioChunk>;
  readonly events$: Observable<DecoderEvent>;
  readonly counters: DecoderCounters = { frames: 0, audioSamples: 0, restarts: 0, joinDropped: 0, jpegDropped: 0, ptsFixed: 0, silencePadded: 0 };
  /** Resolves when the decoder has stopped for good. Never rejects. */
  readonly done: Promise<{ reason: DecoderEndReason; error?: AvlocError }>;

  private readonly frames = new Subject<VideoFrame>();
  private readonly audio = new Subject<AudioChunk>();
  private readonly events = new Subject<DecoderEvent>();
  private readonly opts: DecoderOptions;
  private readonly log: Logger;
  private readonly restart: RestartPolicy;
  private readonly id: string;
  private proc: SupervisedProcess | null = null;
  private started = false;
  private closed = false;
  private finished = false;
  private resolveDone!: (v: { reason: DecoderEndReason; error?: AvlocError }) => void;
  private backoffTimer: NodeJS.Timeout | null = null;
  private wakeBackoff: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** Learned from the first run; a missing audio track is remembered across restarts. */
  private withAudio = true;
  private info: StreamInfo | null = null;
  /** Offline backpressure (pause/resume): the output pipes of the current run, and whether they are held. */
  private mediaPipes: Readable[] = [];
  private paused = false;
  // Timeline across runs.
  private runOffsetMs = 0;
  private lastPtsMs = -Infinity;
  private framePeriodMs = 40;
  /** Samples emitted on the continuous audio timeline (sample i is at i / rate ms from 0). */
  private audioSamplesOut = 0;

  constructor(options: DecoderOptions) {
    this.opts = options;
    this.id = options.source.id;
    this.log = options.logger ?? createLogger('decoder');
    this.restart = { ...DEFAULT_RESTART, ...options.restart };
    this.frames$ = this.frames.asObservable();
    this.audio$ = this.audio.asObservable();
    this.events$ = this.events.asObservable();
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    if (!(options.width > 0 && options.height > 0 && options.sampleRate > 0)) {
      throw new AvlocError('CONFIG_INVALID', `decoder needs a positive size and rate, got ${options.width}x${options.height} @ ${options.sampleRate} Hz`);
    }
  }

  /** What ffmpeg found in the input (null until the first run has probed it). */
  get streamInfo(): StreamInfo | null {
    return this.info;
  }

  /** pid of the running ffmpeg child, if any (for metrics and tests). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts the first ffmpeg run. Subscribe to the observables first. Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.loop = this.runLoop().catch((err: unknown) => {
      // FFMPEG_NOT_FOUND and friends keep their code; anything else is our bug.
      this.finish('failed', err instanceof AvlocError ? err : new AvlocError('INTERNAL', `decoder loop crashed: ${describeError(err)}`, { cause: err }));
    });
  }

  /**
   * Stops reading ffmpeg's output pipes, for a consumer that must not drop anything (offline
   * analysis): ffmpeg blocks on its next write, so what is held in memory stays within the pipe
   * buffers. Emissions stop within at most one pipe read per output. Idempotent; resume() undoes it.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const p of this.mediaPipes) p.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const p of this.mediaPipes) p.resume();
  }

  /** Kills ffmpeg (SIGTERM, then SIGKILL), completes the observables. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      // A paused pipe never ends, so the child would never be reported closed.
      this.resume();
      this.closed = true;
      if (this.backoffTimer) clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
      this.wakeBackoff?.();
      await this.proc?.close();
      if (!this.started) this.finish('closed');
    }
    await this.loop;
    await this.done;
  }

  private async runLoop(): Promise<void> {
    const ffmpeg = this.opts.ffmpegPath ?? resolveFfmpeg();
    let failures = 0;
    for (;;) {
      if (this.closed) return this.finish('closed');
      const r = await this.runOnce(ffmpeg);
      if (this.closed) return this.finish('closed');

      if (r.failure === 'missing-audio' && this.withAudio && r.frames === 0) {
        // Learned that the input has no audio: run again video-only (not a failure).
        this.withAudio = false;
        this.log.info('input has no audio track; decoding video only', { stream: this.id });
        continue;
      }
      if (r.failure === 'no-video' || (r.frames === 0 && !r.input.hasVideo && r.input.hasAudio)) {
        return this.finish('failed', new AvlocError('STREAM_NO_VIDEO', `stream ${this.id} has no video track (input: ${describeInput(r.input)})`));
      }
      if (r.failure === 'undecodable' && r.frames === 0) {
        return this.finish('failed', new AvlocError('DECODE_FAILED', `stream ${this.id} cannot be decoded: ${r.tail}`));
      }
      if (!this.opts.source.live) {
        if (r.exitCode === 0 && r.startError === null) return this.finish('eof');
        if (r.frames > 0 && r.exitCode === 0) return this.finish('eof');
        const code = r.startError instanceof AvlocError ? r.startError.code : 'DECODE_FAILED';
        return this.finish('failed', new AvlocError(code === 'FFMPEG_EXITED' ? 'DECODE_FAILED' : code, `stream ${this.id}: ffmpeg failed (code ${r.exitCode}, signal ${r.signal}): ${r.tail}`));
      }
      // Live: a run that delivered frames was healthy; start counting failures afresh.
      failures = r.frames > 0 ? 1 : failures + 1;
      const reason = r.startError ? describeError(r.startError) : `ffmpeg exited (code ${r.exitCode}, signal ${r.signal})`;
      if (failures > this.restart.maxAttempts) {
        return this.finish('failed', new AvlocError('FFMPEG_EXITED', `stream ${this.id}: gave up after ${failures - 1} restarts; last: ${reason}; ${r.tail}`));
      }
      const delayMs = Math.min(this.restart.maxDelayMs, this.restart.baseDelayMs * 2 ** (failures - 1));
      this.counters.restarts++;
      this.log.warn('ffmpeg stopped; restarting', { stream: this.id, attempt: failures, delayMs, reason, stderr: r.tail });
      this.events.next({ type: 'restart', streamId: this.id, attempt: failures, delayMs, reason });
      await new Promise<void>((resolve) => {
        this.wakeBackoff = resolve;
        this.backoffTimer = setTimeout(resolve, delayMs);
      });
      this.wakeBackoff = null;
      this.backoffTimer = null;
    }
  }

  /** One ffmpeg run: wire its pipes to the subjects and wait for it to exit. */
  private async runOnce(ffmpeg: string): Promise<RunResult> {
    const { width, height, sampleRate } = this.opts;
    const previewHeight = this.opts.previewHeight ?? null;
    const withAudio = this.withAudio;
    const args = buildDecoderArgs({
      input: this.opts.source.ffmpegInput,
      live: this.opts.source.live,
      width,
      height,
      sampleRate,
      withAudio,
      previewHeight,
      previewQuality: this.opts.previewQuality ?? 5,
      ...(this.opts.selectFps !== undefined ? { selectFps: this.opts.selectFps } : {}),
      ...(this.opts.previewFps !== undefined ? { previewFps: this.opts.previewFps } : {}),
    });
    // Continue the timeline where the previous run ended (see the class comment).
    if (this.lastPtsMs > -Infinity || this.audioSamplesOut > 0) {
      const audioEndMs = (this.audioSamplesOut * 1000) / sampleRate;
      const videoEndMs = this.lastPtsMs + this.framePeriodMs;
      const startSample = Math.ceil((Math.max(audioEndMs, videoEndMs) * sampleRate) / 1000);
      this.runOffsetMs = (startSample * 1000) / sampleRate;
      if (withAudio) this.padSilence(startSample);
      else this.audioSamplesOut = startSample;
    }
    const runOffsetMs = this.runOffsetMs;
    const runSampleBase = this.audioSamplesOut;

    const input = new InputStreamsParser();
    const clock = new ShowinfoClock();
    const joiner = new FrameJoiner(previewHeight !== null);
    const previewRate = previewHeight !== null && this.opts.previewFps !== undefined ? new PreviewRate(this.opts.previewFps) : null;
    let frames = 0;
    let anchor: { wall: number; pts: number } | null = null;

    let announced = false;
    let runSamples = 0;
    // Stream info goes out before the first frame or audio chunk of a run, always: consumers
    // (av-sync) wait for it to know whether there is audio. Normally the "Stream mapping:" line
    // triggers it; the calls in emit/emitAudio only cover an ffmpeg whose log we failed to read.
    const announce = () => {
      if (announced) return;
      announced = true;
      const s = input.snapshot();
      if (s.fps && s.fps > 0 && s.fps < 1000) this.framePeriodMs = 1000 / s.fps;
      const first = this.info === null;
      this.info = { ...s, hasVideo: s.hasVideo || frames > 0, audioDecoded: withAudio && (s.hasAudio || runSamples > 0) };
      if (first) this.events.next({ type: 'info', streamId: this.id, info: this.info });
      this.log.info('input', { stream: this.id, ...this.info });
    };
    const emit = (jf: JoinedFrame) => {
      if (this.closed) return;
      announce();
      let pts = jf.ptsMs === null ? this.lastPtsMs + this.framePeriodMs : runOffsetMs + jf.ptsMs;
      if (!(pts > this.lastPtsMs)) {
        this.counters.ptsFixed++;
        pts = this.lastPtsMs + 0.001;
      }
      if (this.lastPtsMs > -Infinity && frames > 0) {
        const d = pts - this.lastPtsMs;
        if (d > 0 && d < 1000) this.framePeriodMs = d;
      }
      this.lastPtsMs = pts;
      const decodedAtMs = nowMs();
      // Capture time = pts + the smallest (arrival − pts) seen in this run. The first frame usually
      // arrives late (probing, the server's GOP cache sent as a burst), so anchoring on it alone put
      // capture times in the future; the earliest-arriving frame is the best estimate of real time.
      if (anchor && decodedAtMs - pts < anchor.wall - anchor.pts) anchor = { wall: decodedAtMs, pts };
      if (!anchor) {
        anchor = { wall: decodedAtMs, pts };
        if (this.counters.restarts > 0) this.events.next({ type: 'resumed', streamId: this.id, restarts: this.counters.restarts });
      }
      frames++;
      const frame: VideoFrame = {
        streamId: this.id,
        index: this.counters.frames++,
        ptsMs: pts,
        decodedAtMs,
        captureAtMs: anchor.wall + (pts - anchor.pts),
        width,
        height,
        rgb: jf.rgb,
        ...(jf.jpeg ? { jpeg: jf.jpeg } : {}),
      };
      this.frames.next(frame);
    };
    const emitAll = (list: JoinedFrame[]) => {
      for (const f of list) emit(f);
      this.counters.joinDropped = joiner.dropped;
    };

    const onLine = (line: string) => {
      if (isShowinfoLine(line)) {
        const ev = parseShowinfoLine(line);
        const t = ev ? clock.push(ev) : undefined;
        if (t) emitAll(joiner.pushPts(t.ms, previewRate ? previewRate.select(t.seconds) : true));
        return;
      }
      if (input.push(line)) announce();
    };

    const proc = new SupervisedProcess({
      command: ffmpeg,
      args,
      extraPipes: previewHeight !== null ? 3 : 2,
      logger: this.log.child(`ffmpeg:${this.id}`),
      startTimeoutMs: this.opts.startTimeoutMs ?? (this.opts.source.live ? 15_000 : 10_000),
      ...(this.opts.killGraceMs !== undefined ? { killGraceMs: this.opts.killGraceMs } : {}),
      onStderrLine: onLine,
      // When the CPU is short, decoding should yield to inference and to the event loop: a decoder
      // that falls behind is cut off by the bounded RTMP relay and rejoins live, whereas starved
      // inference makes every stream's heatmaps late.
      nice: 5,
      // Per-frame and known-harmless lines stay out of the error ring and the log.
      quietLine: (l) => isShowinfoLine(l) || /deprecated pixel format|-vsync is deprecated/.test(l),
    });
    this.proc = proc;

    const rgb = new FixedChunker(width * height * 3);
    proc.pipe(FD_RGB).on('data', (b: Buffer) => emitAll(rgb.push(b).flatMap((f) => joiner.pushRgb(f))));
    if (previewHeight !== null) {
      const jpegs = new JpegSplitter();
      proc.pipe(FD_JPEG).on('data', (b: Buffer) => {
        emitAll(jpegs.push(b).flatMap((j) => joiner.pushJpeg(j)));
        this.counters.jpegDropped = jpegs.dropped;
      });
    }
    const chunkSamples = Math.max(1, Math.round(((this.opts.audioChunkMs ?? 20) * sampleRate) / 1000));
    const pcm = new FixedChunker(chunkSamples * 4);
    const emitAudio = (bytes: Uint8Array) => {
      if (this.closed || bytes.length < 4) return;
      announce();
      const n = bytes.length >> 2;
      // Fresh, 4-byte aligned buffers from FixedChunker, so the view needs no copy.
      const samples = new Float32Array(bytes.buffer, bytes.byteOffset, n);
      const first = runSampleBase + runSamples;
      runSamples += n;
      this.audioSamplesOut = runSampleBase + runSamples;
      this.counters.audioSamples += n;
      this.audio.next({ streamId: this.id, ptsMs: (first * 1000) / sampleRate, sampleRate, samples });
    };
    if (withAudio) {
      proc.pipe(FD_AUDIO).on('data', (b: Buffer) => {
        for (const c of pcm.push(b)) emitAudio(c);
      });
    }

    this.mediaPipes = [proc.pipe(FD_RGB), ...(withAudio ? [proc.pipe(FD_AUDIO)] : []), ...(previewHeight !== null ? [proc.pipe(FD_JPEG)] : [])];
    if (this.paused) for (const p of this.mediaPipes) p.pause();

    let startError: unknown = null;
    try {
      await proc.start();
    } catch (err) {
      startError = err;
    }
    const exit = await proc.exited;
    if (startError instanceof AvlocError && startError.code === 'FFMPEG_EXITED' && exit.code === 0) startError = null;
    // Drain what the pipes still held: the last frames, the audio tail.
    emitAll(joiner.flush());
    if (withAudio) {
      const tail = pcm.flush();
      emitAudio(tail.slice(0, tail.length - (tail.length % 4)));
    }
    this.proc = null;
    this.mediaPipes = [];
    const lines = proc.stderrLines();
    const failed = exit.code !== 0 || startError !== null;
    return {
      frames,
      failure: failed ? classifyFailure(lines, input.snapshot(), input.opened) : null,
      exitCode: exit.code,
      signal: exit.signal,
      startError,
      tail: proc.stderrTail(6),
      input: input.snapshot(),
    };
  }

  private padSilence(untilSample: number): void {
    const gap = untilSample - this.audioSamplesOut;
    const max = Math.round((MAX_PAD_MS * this.opts.sampleRate) / 1000);
    if (gap <= 0) return;
    if (gap > max) {
      this.audioSamplesOut = untilSample; // leave a hole rather than allocate a huge buffer
      return;
    }
    const { sampleRate } = this.opts;
    this.audio.next({ streamId: this.id, ptsMs: (this.audioSamplesOut * 1000) / sampleRate, sampleRate, samples: new Float32Array(gap) });
    this.counters.silencePadded += gap;
    this.counters.audioSamples += gap;
    this.audioSamplesOut = untilSample;
  }

  private finish(reason: DecoderEndReason, error?: AvlocError): void {
    if (this.finished) return;
    this.finished = true;
    if (error) {
      this.log.warn('decoder stopped', { stream: this.id, error: describeError(error) });
      this.events.next({ type: 'error', streamId: this.id, error, fatal: true });
    }
    this.events.next({ type: 'ended', streamId: this.id, reason });
    this.frames.complete();
    this.audio.complete();
    this.events.complete();
    this.resolveDone(error ? { reason, error } : { reason });
  }
}

function describeInput(s: InputStreams): string {
  const parts: string[] = [];
  if (s.hasVideo) parts.push(`video ${s.videoCodec}`);
  if (s.hasAudio) parts.push(`audio ${s.audioCodec}`);
  return parts.length > 0 ? parts.join(', ') : 'no streams';
}
