import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU and memory of processes, read from /proc (Linux only): utime+stime from /proc/PID/stat and
 * VmRSS from /proc/PID/status. CPU is reported as a share of one core over an interval, so 150%
 * means one and a half cores were busy.
 */
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on; Node has no sysconf.

export interface ProcSample {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime in seconds. */
  readonly cpuS: number;
  readonly rssBytes: number;
}

export function readProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces; the fields after the last ')' are fixed.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    const ppid = Number(f[1]);
    const cpuS = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return { pid, ppid, comm, cpuS, rssBytes: m?.[1] ? Number(m[1]) * 1024 : 0 };
  } catch {
    return null; // gone between listing and reading
  }
}

/** Direct children of `ppid` whose command name is `comm` (e.g. the service's ffmpeg decoders). */
export function childrenOf(ppid: number, comm?: string): ProcSample[] {
  const out: ProcSample[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readProc(Number(name));
    if (s && s.ppid === ppid && (comm === undefined || s.comm === comm)) out.push(s);
  }
  return out;
}

export interface GroupUsage {
  /** Average CPU over the interval in percent of one core (summed over the group). */
  readonly cpuPct: number;
  /** RSS summed over the group at the end of the interval. */
  readonly rssMiB: number;
  /** Peak of the summed RSS over the samples taken. */
  readonly peakRssMiB: number;
  readonly processes: number;
}

/**
 * Integrates a group of processes' CPU over time. Processes come and go (decoders restart,
 * publishers end), so CPU is the sum of per-pid deltas between consecutive samples: a process
 * that vanished between two samples loses at most one interval of its time.
 */
export class GroupMeter {
  private readonly list: () => number[];
  private last = new Map<number, number>();
  private cpuAccS = 0;
  private startMs = 0;
  private rss = 0;
  private peak = 0;
  private count = 0;

  constructor(list: () => number[]) {
    this.list = list;
  }

  start(): void {
    this.last = new Map();
    this.cpuAccS = 0;
    this.peak = 0;
    this.startMs = performance.now();
    this.sample();
    this.cpuAccS = 0; // the first sample only sets the baseline
  }

  sample(): void {
    let rss = 0;
    const next = new Map<number, number>();
    for (const pid of this.list()) {
      const s = readProc(pid);
      if (!s) continue;
      const prev = this.last.get(pid);
      // A pid first seen mid-interval counts from zero: its whole life so far fell in the interval
      // unless it is the baseline sample (which start() throws away).
      this.cpuAccS += s.cpuS - (prev ?? 0);
      next.set(pid, s.cpuS);
      rss += s.rssBytes;
    }
    this.last = next;
    this.rss = rss;
    this.count = next.size;
    if (rss > this.peak) this.peak = rss;
  }

  read(): GroupUsage {
    this.sample();
    const elapsedS = (performance.now() - this.startMs) / 1000;
    return {
      cpuPct: elapsedS > 0 ? (100 * this.cpuAccS) / elapsedS : 0,
      rssMiB: this.rss / 2 ** 20,
      peakRssMiB: this.peak / 2 ** 20,
      processes: this.count,
    };
  }
}
