import { spawn, type ChildProcess } from 'node:child_process';
import { nowMs } from '../../src/pipeline/types.ts';
import type { PublisherFfmpeg } from './publisher-ffmpeg.ts';

/**
 * One synthetic camera: ffmpeg sends the pre-encoded file in a loop over RTMP at its native rate
 * (`-re`), copying packets. With `-re` a packet with timestamp p leaves at t0 + p. t0 is learned
 * from ffmpeg's own progress reports (every 100 ms: the timestamp of the last packet written), as
 * the smallest (wall time − out_time) seen: a report can only come late, never early. On a busy
 * machine ffmpeg takes a good while between spawn and its first packet, so spawn time would
 * overstate every latency by that start-up.
 */
export class Publisher {
  readonly streamId: string;
  readonly url: string;
  /** Wall time when the process was spawned (nowMs clock). */
  readonly spawnedAtMs: number;
  private readonly child: ChildProcess;
  private stderrTail: string[] = [];
  private t0 = Number.POSITIVE_INFINITY;
  readonly exited: Promise<number | null>;

  constructor(ffmpeg: PublisherFfmpeg, file: string, url: string, streamId: string) {
    this.streamId = streamId;
    this.url = url;
    this.spawnedAtMs = nowMs();
    this.child = spawn(ffmpeg.path, [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      '-re', '-stream_loop', '-1', '-i', file,
      '-c', 'copy', '-f', 'flv',
      '-progress', 'pipe:1', ...(ffmpeg.statsPeriod ? ['-stats_period', '0.1'] : []), url,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout?.on('data', (b: Buffer) => {
      const now = nowMs();
      const lines = (partial + b.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (!m) continue;
        const outMs = Number(m[1]) / 1000;
        // out_time is 0 until the first packet is written; those reports say nothing about t0.
        if (outMs > 0) this.t0 = Math.min(this.t0, now - outMs);
      }
    });
    this.child.stderr?.on('data', (b: Buffer) => {
      this.stderrTail.push(b.toString('utf8').trim());
      if (this.stderrTail.length > 10) this.stderrTail.shift();
    });
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  /** Wall time at which the packet with timestamp 0 was (or would have been) sent; spawn time until known. */
  get sendOriginMs(): number {
    return Number.isFinite(this.t0) ? this.t0 : this.spawnedAtMs;
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
