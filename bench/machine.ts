import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem, release, hostname } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { ffmpegInfo, resolveFfmpeg } from '../src/media/ffmpeg-path.ts';

/**
 * What the numbers were measured on. The load average matters as much as the CPU: this machine is
 * shared, so every report carries the load at its start and end, next to the figures.
 */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly host: string;
  readonly node: string;
  readonly onnxruntime: string;
  /** The service's ffmpeg (found as the service finds it). */
  readonly ffmpeg: string;
  readonly ffmpegPath: string;
  /** The bench publishers' ffmpeg. */
  readonly publisherFfmpeg: string;
}

const require = createRequire(import.meta.url);

function ortVersion(): string {
  try {
    const pkg = require('onnxruntime-node/package.json') as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function cpuModel(): string {
  const fromOs = cpus()[0]?.model?.trim();
  // Some VMs report a bare family name; /proc/cpuinfo sometimes has more.
  if (fromOs && fromOs.length > 0) return fromOs;
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A path inside the repository as a relative one, so a committed report names no machine's folders. */
function shownPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

export function describeMachine(publisherFfmpegPath: string): MachineInfo {
  const path = resolveFfmpeg();
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    host: hostname(),
    node: process.version,
    onnxruntime: ortVersion(),
    ffmpeg: ffmpegInfo(path).version,
    ffmpegPath: shownPath(path),
    publisherFfmpeg: `${ffmpegInfo(publisherFfmpegPath).version} (${publisherFfmpegPath})`,
  };
}

/** The 1, 5 and 15 minute load averages, rounded, e.g. "1.92 1.40 0.88". */
export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}
