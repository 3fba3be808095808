import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childrenOf } from './proc-stats.ts';
import { freePort } from './free-port.ts';

/**
 * The service under test, in a child Node process (see service-host.ts for why). Ports are picked
 * free here and passed in as config, so nothing depends on the server reporting port 0 back.
 */
export interface ServiceOptions {
  /** The `model` config section: dir, device and optionally intraOpThreads. */
  readonly model: { readonly dir: string; readonly device: 'cpu' | 'cuda'; readonly intraOpThreads?: number; readonly worker?: boolean };
  /** Extra config sections in the schema's shape (replacing the bench's, section by section). */
  readonly overrides?: Record<string, unknown>;
  readonly startTimeoutMs?: number;
}

/** Event-loop delay of the service process (perf_hooks.monitorEventLoopDelay), in ms. */
export interface LoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export class ServiceProcess {
  readonly httpPort: number;
  readonly rtmpPort: number;
  readonly config: Record<string, unknown>;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr: string[] = [];

  private constructor(child: ChildProcess, httpPort: number, rtmpPort: number, config: Record<string, unknown>, exited: Promise<number | null>, stderr: string[]) {
    this.child = child;
    this.httpPort = httpPort;
    this.rtmpPort = rtmpPort;
    this.config = config;
    this.exited = exited;
    this.stderr = stderr;
  }

  static async start(opts: ServiceOptions): Promise<ServiceProcess> {
    const httpPort = await freePort();
    const rtmpPort = await freePort();
    const config: Record<string, unknown> = {
      // The bench's own polling of /api/streams and /api/health is measurement, not traffic under
      // test: the per-address rate limit would throttle it (the cluster bench polls every 20 ms).
      http: { host: '127.0.0.1', port: httpPort, rateLimit: { max: 0 } },
      rtmp: { host: '127.0.0.1', port: rtmpPort },
      model: { ...opts.model },
      ...opts.overrides,
    };
    const entry = fileURLToPath(new URL('./service-host.ts', import.meta.url));
    const child = fork(entry, [JSON.stringify(config)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, AVLOC_LOG_LEVEL: process.env.AVLOC_LOG_LEVEL ?? 'warn' },
    });
    const stderr: string[] = [];
    child.stderr?.on('data', (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        stderr.push(line);
        if (stderr.length > 200) stderr.shift();
      }
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`service did not start in time: ${stderr.slice(-5).join(' | ')}`)), opts.startTimeoutMs ?? 60_000);
      child.on('message', (msg: { type?: string }) => {
        if (msg.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`service exited (code ${code}) before it was ready: ${stderr.slice(-5).join(' | ')}`));
      });
    });
    return new ServiceProcess(child, httpPort, rtmpPort, config, exited, stderr);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** False once the process has exited (or was killed). */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The service's own ffmpeg children (decoders). */
  ffmpegPids(): number[] {
    return childrenOf(this.pid, 'ffmpeg').map((p) => p.pid);
  }

  /** Warnings and errors the service logged, for the report's notes. */
  logTail(n = 20): string[] {
    return this.stderr.slice(-n);
  }

  rtmpUrl(streamId: string): string {
    return `rtmp://127.0.0.1:${this.rtmpPort}/live/${streamId}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.httpPort}/ws`;
  }

  /** Starts a new event-loop delay measurement in the service process. */
  resetLoopDelay(): void {
    this.child.send({ type: 'loop-reset' });
  }

  /** The service's event-loop delay since the last reset, in ms (null if it does not answer). */
  readLoopDelay(timeoutMs = 5000): Promise<LoopDelay | null> {
    return new Promise((resolve) => {
      const onMsg = (msg: { type?: string } & Partial<LoopDelay>) => {
        if (msg.type !== 'loop') return;
        clearTimeout(timer);
        this.child.off('message', onMsg);
        resolve({ p50: msg.p50 ?? NaN, p99: msg.p99 ?? NaN, max: msg.max ?? NaN, mean: msg.mean ?? NaN });
      };
      const timer = setTimeout(() => {
        this.child.off('message', onMsg);
        resolve(null);
      }, timeoutMs);
      this.child.on('message', onMsg);
      this.child.send({ type: 'loop-read' });
    });
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`);
    return res.text();
  }

  /** SIGKILL, as a crash: nothing released, nothing said to Redis or clients. Resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
