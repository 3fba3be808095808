import { execFileSync } from 'node:child_process';
import { ffmpegCandidates, resolveFfmpeg } from '../../src/media/ffmpeg-path.ts';

/**
 * The ffmpeg the bench's publishers use. The service picks its own (ffmpeg-path.ts; here often the
 * npm-shipped static 4.x build). Publishers prefer the system's ffmpeg on PATH because the send
 * origin is read from `-progress` with `-stats_period` (ffmpeg >= 4.4); without that option the
 * reports come every 500 ms and the origin is known less precisely, but it still works.
 */
export interface PublisherFfmpeg {
  readonly path: string;
  readonly statsPeriod: boolean;
}

function hasStatsPeriod(path: string): boolean {
  try {
    const help = execFileSync(path, ['-hide_banner', '-h', 'full'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] });
    return help.includes('-stats_period');
  } catch {
    return false;
  }
}

export function publisherFfmpeg(): PublisherFfmpeg {
  const onPath = ffmpegCandidates({ env: { PATH: process.env.PATH } }).find((c) => c.via === 'PATH' && !c.rejected)?.path;
  const path = process.env.FFMPEG_PATH ?? onPath ?? resolveFfmpeg();
  return { path, statsPeriod: hasStatsPeriod(path) };
}
