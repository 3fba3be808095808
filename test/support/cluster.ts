/** Helpers for cluster tests: a node in a child process, polling with a deadline, JSON over HTTP. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_SCRIPT = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));

export interface ChildNode {
  readonly httpPort: number;
  readonly rtmpPort: number;
  readonly nodeId: string;
  readonly child: ChildProcess;
  /** SIGKILL (a crash: nothing released) or SIGTERM (a clean stop); resolves when it has exited. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

/** Starts a node in a child process; rejects with its stderr if it does not serve within `timeoutMs`. */
export function startChildNode(overrides: ConfigInput, timeoutMs = 60_000): Promise<ChildNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', NODE_SCRIPT, JSON.stringify(overrides)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (process.env.AVLOC_TEST_DEBUG) process.stderr.write(d);
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cluster node did not start within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`cluster node exited before it served (code ${code}, signal ${signal}):\n${stderr}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /AVLOC_NODE_READY (\{.*\})\n/.exec(out);
      if (!m?.[1]) return;
      clearTimeout(timer);
      const info = JSON.parse(m[1]) as { httpPort: number; rtmpPort: number; nodeId: string };
      resolve({
        ...info,
        child,
        kill: async (signal = 'SIGKILL') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
      });
    });
  });
}

/** Polls `probe` until it returns something truthy; rejects after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 20_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function httpJson(port: number, path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body };
}

export interface ListedStream {
  readonly id: string;
  readonly kind: string;
  readonly node?: string;
  readonly state: string;
}

export async function listStreams(port: number): Promise<ListedStream[]> {
  const { body } = await httpJson(port, '/api/streams');
  return (body as { streams: ListedStream[] }).streams;
}

export async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** The value of one series in Prometheus text (`name{labels} value`), or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
