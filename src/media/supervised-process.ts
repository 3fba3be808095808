import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Readable } from 'node:stream';
import { AvlocError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { LineSplitter } from './line-splitter.ts';

/**
 * One supervised child process: extra output pipes (fd 3, 4, ...), startup raced against exit and a
 * timeout, stderr lines into the logger with a bounded ring of the last lines for error messages,
 * close() = SIGTERM, then SIGKILL after a grace period. Restart policy lives with the caller
 * (Decoder), which knows whether an exit was expected.
 */
export interface SupervisedProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** How many extra read pipes to open after stderr: 2 → fd 3 and fd 4. */
  readonly extraPipes?: number;
  readonly logger: Logger;
  /** Start is declared when a pipe (stdout or extra) yields its first byte, or when this returns true for a stderr line. */
  readonly readyOnLine?: (line: string) => boolean;
  /** Rejects start() with FFMPEG_START_TIMEOUT when not ready in time (default 10 s). */
  readonly startTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL (default 2 s). */
  readonly killGraceMs?: number;
  /** Scheduling niceness for the child (0 = as the parent; higher = yields the CPU to others). */
  readonly nice?: number;
  /** Open a pipe to the child's stdin, for send() (default: stdin is /dev/null). */
  readonly stdin?: boolean;
  /** Lines kept for error messages (default 40). */
  readonly stderrRing?: number;
  /** Called for every stderr line (after logging). */
  readonly onStderrLine?: (line: string) => void;
  /** stderr lines logged at debug rather than info/warn (noisy lines the caller parses itself). */
  readonly quietLine?: (line: string) => boolean;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the exit followed our own close(). */
  readonly requested: boolean;
}

const STDERR_LINE_MAX = 4096;
/** Bytes written to a child's stdin and not yet read by it, past which send() refuses. */
const SEND_BACKLOG_MAX = 4096;

export class SupervisedProcess {
  readonly pid: number | undefined;
  /** Resolves once, when the child has exited and its pipes are closed. Never rejects. */
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly ring: string[] = [];
  private readonly ringMax: number;
  private readonly options: SupervisedProcessOptions;
  private readyResolve: (() => void) | null = null;
  private readyReject: ((err: unknown) => void) | null = null;
  private readonly readyPromise: Promise<void>;
  private isReady = false;
  private closing: Promise<ProcessExit> | null = null;
  private exitInfo: ProcessExit | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private spawnError: Error | null = null;

  constructor(options: SupervisedProcessOptions) {
    this.options = options;
    this.ringMax = options.stderrRing ?? 40;
    const extra = options.extraPipes ?? 0;
    const stdio: Array<'ignore' | 'pipe'> = [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    for (let i = 0; i < extra; i++) stdio.push('pipe');
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    // A start that nobody awaits must not surface as an unhandled rejection.
    this.readyPromise.catch(() => undefined);

    this.child = spawn(options.command, [...options.args], { stdio });
    if (options.nice && this.child.pid !== undefined) {
      try {
        setPriority(this.child.pid, options.nice);
      } catch {
        // Not permitted here (e.g. a container without CAP_SYS_NICE): run at normal priority.
      }
    }
    this.pid = this.child.pid;
    this.exited = new Promise<ProcessExit>((resolve) => {
      this.child.once('error', (err) => {
        // spawn failure (ENOENT, EACCES): 'close' still follows in Node 20.
        this.spawnError = err;
        this.options.logger.error('spawn failed', { command: options.command, error: err.message });
      });
      this.child.once('close', (code, signal) => {
        this.exitInfo = { code, signal, requested: this.closing !== null };
        if (this.startTimer) clearTimeout(this.startTimer);
        this.failStart(
          this.spawnError
            ? new AvlocError('FFMPEG_NOT_FOUND', `cannot run ${options.command}: ${this.spawnError.message}`, { cause: this.spawnError })
            : new AvlocError('FFMPEG_EXITED', `process exited before it was ready (code ${code}, signal ${signal}): ${this.stderrTail(8)}`),
        );
        resolve(this.exitInfo);
      });
    });

    const splitter = new LineSplitter(STDERR_LINE_MAX);
    this.child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) this.onLine(line);
    });
    this.child.stderr?.on('end', () => {
      const last = splitter.flush();
      if (last !== null) this.onLine(last);
    });
    const markReady = () => this.markReady();
    this.child.stdout?.once('data', markReady);
    for (let i = 0; i < extra; i++) this.pipe(3 + i).once('data', markReady);
    // A pipe torn down under a dying child reports EPIPE/ECONNRESET; the exit says what happened.
    for (const s of this.child.stdio) s?.on('error', () => undefined);

    this.startTimer = setTimeout(() => {
      this.startTimer = null;
      if (this.isReady) return;
      const ms = options.startTimeoutMs ?? 10_000;
      this.failStart(new AvlocError('FFMPEG_START_TIMEOUT', `no output within ${ms} ms: ${this.stderrTail(8)}`));
      void this.close();
    }, options.startTimeoutMs ?? 10_000);
  }

  /** Readable side of fd N (1 = stdout, 3.. = extra pipes). */
  pipe(fd: number): Readable {
    const s = this.child.stdio[fd];
    if (!s || !('read' in s)) throw new AvlocError('INTERNAL', `fd ${fd} is not a readable pipe`);
    return s as Readable;
  }

  /**
   * Writes `text` to the child's stdin (opened with `stdin: true`). Returns false, writing nothing,
   * when there is no open stdin or the child has not read the last SEND_BACKLOG_MAX bytes yet: a
   * child that stops reading cannot make us buffer without bound.
   */
  send(text: string): boolean {
    const w = this.child.stdin;
    if (!w || w.destroyed || !w.writable || this.exitInfo || this.closing) return false;
    if (w.writableLength > SEND_BACKLOG_MAX) return false;
    w.write(text);
    return true;
  }

  /** Resolves when ready; rejects with FFMPEG_START_TIMEOUT / FFMPEG_EXITED / FFMPEG_NOT_FOUND / CLOSED. */
  start(): Promise<void> {
    return this.readyPromise;
  }

  get ready(): boolean {
    return this.isReady;
  }

  get exit(): ProcessExit | null {
    return this.exitInfo;
  }

  /** The last `n` stderr lines, joined with " | " for a one-line error message. */
  stderrTail(n = this.ringMax): string {
    return this.ring.slice(-n).join(' | ');
  }

  stderrLines(): readonly string[] {
    return [...this.ring];
  }

  /** SIGTERM, then SIGKILL after the grace period. Idempotent; resolves with the exit. */
  close(): Promise<ProcessExit> {
    if (this.closing) return this.closing;
    this.failStart(new AvlocError('CLOSED', 'process closed before it was ready'));
    if (this.startTimer) {
      clearTimeout(this.startTimer);
      this.startTimer = null;
    }
    this.closing = (async () => {
      if (this.exitInfo) return this.exitInfo;
      this.child.kill('SIGTERM');
      const grace = this.options.killGraceMs ?? 2000;
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (!this.exitInfo) {
            // Expected now and then (ffmpeg blocked on a silent UDP input); SIGKILL is the plan for it.
            this.options.logger.info('process ignored SIGTERM; sending SIGKILL', { pid: this.pid });
            this.child.kill('SIGKILL');
          }
          resolve();
        }, grace);
      });
      await Promise.race([this.exited, killed]);
      const exit = await this.exited;
      clearTimeout(timer);
      return exit;
    })();
    return this.closing;
  }

  private markReady(): void {
    if (this.isReady || this.closing || this.exitInfo) return;
    this.isReady = true;
    if (this.startTimer) {
      clearTimeout(this.startTimer);
      this.startTimer = null;
    }
    this.readyResolve?.();
    this.readyResolve = null;
    this.readyReject = null;
  }

  private failStart(err: unknown): void {
    if (this.isReady) return;
    this.readyReject?.(err);
    this.readyResolve = null;
    this.readyReject = null;
  }

  private onLine(raw: string): void {
    if (raw.length === 0) return;
    // ffmpeg echoes its input URL in errors: a decoder's RTMP play key or a publisher's token must
    // not reach the logs or an error message through it.
    const line = redactUrlSecrets(raw);
    const quiet = this.options.quietLine?.(line) ?? false;
    if (!quiet) {
      this.ring.push(line);
      if (this.ring.length > this.ringMax) this.ring.shift();
      this.options.logger.debug(line);
    }
    this.options.onStderrLine?.(line);
    if (this.options.readyOnLine?.(line)) this.markReady();
  }
}

/** `?key=…`, `&token=…` and `sign=` query values replaced by `***`. */
export function redactUrlSecrets(text: string): string {
  return text.replace(/([?&](?:key|token|sign)=)[^&\s'"|:]+/gi, '$1***');
}
