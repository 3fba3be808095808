import { spawn, type ChildProcess } from 'node:child_process';
import { nowMs } from '../../src/pipeline/types.ts';

/**
 * One synthetic camera: ffmpeg sends the pre-encoded file in a loop over RTMP at its native rate
 * (`-re`), copying packets. With `-re` a packet with timestamp p leaves at about t0 + p, where t0
 * is a little after spawn (ffmpeg opens the file and connects first), so spawn time is an upper
 * bound on t0 and "publisher → received" latencies derived from it are conservative.
 */
export class Publisher {
  readonly streamId: string;
  readonly url: string;
  /** Wall time when the process was spawned (nowMs clock). */
  readonly spawnedAtMs: number;
  private readonly child: ChildProcess;
  private stderrTail: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(ffmpeg: string, file: string, url: string, streamId: string) {
    this.streamId = streamId;
    this.url = url;
    this.spawnedAtMs = nowMs();
    this.child = spawn(ffmpeg, [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      '-re', '-stream_loop', '-1', '-i', file,
      '-c', 'copy', '-f', 'flv', url,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr?.on('data', (b: Buffer) => {
      this.stderrTail.push(b.toString('utf8').trim());
      if (this.stderrTail.length > 10) this.stderrTail.shift();
    });
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get errors(): string {
    return this.stderrTail.join(' | ');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(t);
  }
}

export async function stopAll(publishers: readonly Publisher[]): Promise<void> {
  await Promise.all(publishers.map((p) => p.stop()));
}
