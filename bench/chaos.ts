/**
 * `npm run chaos [-- --out DIR]`: the outside tester's attacks, full size, against a real service
 * (a child process with auth on and the default model) while a control stream publishes and a
 * subscriber counts its heatmaps. Per attack it prints what the service did and what it cost:
 * the control stream's heatmap rate and longest gap, an RTMP handshake's latency during the attack,
 * the service's RSS and address space before, at the peak and after. The CI-sized versions with
 * assertions are the regression tests in test/integration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { signToken } from '../src/auth/tokens.ts';
import { resolveFfmpeg } from '../src/media/ffmpeg-path.ts';

const SECRET = randomBytes(32).toString('base64url');
const HTTP = 18480;
const RTMP = 19435;
const FFMPEG = resolveFfmpeg();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Memory { rssMb: number; vmMb: number }
function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, vmMb: kb('VmSize') / 1024 };
}

function publisher(id: string, token: string | null, fps = 15): ChildProcess {
  const url = `rtmp://127.0.0.1:${RTMP}/live/${id}${token ? `?token=${token}` : ''}`;
  return spawn(FFMPEG, ['-hide_banner', '-loglevel', 'quiet', '-re', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${fps}`, '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(fps), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', url], { stdio: 'ignore' });
}

/** Time for the server to answer an RTMP C0+C1 with S0+S1+S2 (ms), or null when it did not within 15 s. */
function handshakeMs(): Promise<number | null> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(RTMP, '127.0.0.1');
    let got = 0;
    const done = (v: number | null) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), 15_000);
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])));
    s.on('data', (d) => {
      got += d.length;
      if (got >= 3073) done(performance.now() - t0);
    });
    s.on('error', () => done(null));
  });
}

/** A subscriber of the control stream: heatmap arrival times. */
async function subscriber(token: string): Promise<{ times: number[]; ws: WebSocket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${HTTP}/ws?token=${token}`);
  const times: number[] = [];
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  ws.send(JSON.stringify({ type: 'subscribe', streams: ['control'], format: 'binary' }));
  ws.on('message', (_d, binary) => {
    if (binary) times.push(performance.now());
  });
  return { times, ws };
}

function rawRtmp(afterHandshake: (s: net.Socket) => void): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(RTMP, '127.0.0.1');
    let got = 0;
    let shaken = false;
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])));
    s.on('data', (d) => {
      got += d.length;
      if (!shaken && got >= 3073) {
        shaken = true;
        s.write(Buffer.alloc(1536));
        afterHandshake(s);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    setTimeout(() => s.destroy(), 8000);
  });
}

interface Row {
  attack: string; outcome: string; controlHz: number; maxGapMs: number; handshakeMs: number | null;
  rssBefore: number; rssPeak: number; rssAfter: number; vmPeak: number;
  /** The service's RSS before the first attack, and how long after this one ended RSS took to be within 10 % of it (null: not within SETTLE_MS). */
  rssBaseline: number; settleMs: number | null;
}

/** How long after an attack memory may take to come back within 10 % of the baseline. */
const SETTLE_MS = 30_000;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
  const out = values.out ?? 'bench-results';
  mkdirSync(out, { recursive: true });
  // The service's own account of each attack (info and up: streams started, ended, refused) beside the figures.
  const serviceLog = createWriteStream(join(out, 'chaos-service.log'));
  const env = { ...process.env, AVLOC_AUTH_SECRET: SECRET, AVLOC_HTTP_PORT: String(HTTP), AVLOC_RTMP_PORT: String(RTMP), AVLOC_LOG_LEVEL: 'info', AVLOC_LOG_FORMAT: 'json' };
  const service = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  service.stdout?.pipe(serviceLog, { end: false });
  service.stderr?.pipe(serviceLog, { end: false });
  const pid = service.pid!;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${HTTP}/api/health`).then((r) => r.ok, () => false)) break;
    await sleep(200);
  }
  const control = publisher('control', await signToken(SECRET, { publish: ['control'], ttlSeconds: 3600 }));
  const sub = await subscriber(await signToken(SECRET, { subscribe: ['control'], ttlSeconds: 3600 }));
  await sleep(8000);
  const rows: Row[] = [];
  const rssStart = memory(pid);
  const admin = await signToken(SECRET, { admin: true, ttlSeconds: 3600 });

  const run = async (attack: string, act: () => Promise<string>): Promise<void> => {
    serviceLog.write(`${JSON.stringify({ chaos: attack, phase: 'started' })}\n`);
    const before = memory(pid);
    const t0 = performance.now();
    let peakRss = before.rssMb;
    let peakVm = before.vmMb;
    const sampler = setInterval(() => {
      const m = memory(pid);
      peakRss = Math.max(peakRss, m.rssMb);
      peakVm = Math.max(peakVm, m.vmMb);
    }, 100);
    const hs = sleep(300).then(handshakeMs);
    const outcome = await act();
    const shake = await hs;
    const t1 = performance.now();
    // Settle: memory should come back within 10 % of the baseline (at least 5 s, at most SETTLE_MS).
    await sleep(5000);
    let settleMs: number | null = null;
    for (;;) {
      const waited = performance.now() - t1;
      if (memory(pid).rssMb <= 1.1 * rssStart.rssMb) {
        settleMs = waited;
        break;
      }
      if (waited >= SETTLE_MS) break;
      await sleep(500);
    }
    clearInterval(sampler);
    const during = sub.times.filter((t) => t >= t0 && t <= t1);
    const gaps = during.slice(1).map((t, i) => t - (during[i] ?? t));
    serviceLog.write(`${JSON.stringify({ chaos: attack, phase: 'ended' })}\n`);
    const row: Row = {
      attack, outcome,
      controlHz: during.length / ((t1 - t0) / 1000),
      maxGapMs: Math.max(0, ...gaps),
      handshakeMs: shake,
      rssBefore: before.rssMb, rssPeak: peakRss, rssAfter: memory(pid).rssMb, vmPeak: peakVm,
      rssBaseline: rssStart.rssMb, settleMs,
    };
    rows.push(row);
    log(`${attack}: ${outcome}; control ${row.controlHz.toFixed(1)} heatmaps/s (longest gap ${row.maxGapMs.toFixed(0)} ms), ` +
      `handshake ${shake === null ? 'timed out' : `${shake.toFixed(0)} ms`}, RSS ${row.rssBefore.toFixed(0)} → ${row.rssPeak.toFixed(0)} → ${row.rssAfter.toFixed(0)} MB ` +
      `(baseline ${row.rssBaseline.toFixed(0)}; ${settleMs === null ? `not back within 10 % in ${SETTLE_MS / 1000} s` : `back within 10 % ${(settleMs / 1000).toFixed(1)} s after`}), address space peak ${row.vmPeak.toFixed(0)} MB`);
  };

  const baseline = sub.times.length;
  await run('baseline (no attack, 5 s)', async () => {
    await sleep(5000);
    return `${sub.times.length - baseline} heatmaps`;
  });

  await run('1000 connections of random bytes (4 KiB each)', async () => {
    let closed = 0;
    await Promise.all(Array.from({ length: 1000 }, (_, i) => new Promise<void>((resolve) => {
      setTimeout(() => {
        const s = net.connect(RTMP, '127.0.0.1', () => s.write(randomBytes(4096)));
        s.on('error', () => undefined);
        s.on('close', () => {
          closed++;
          resolve();
        });
        setTimeout(() => s.destroy(), 10_000);
      }, i * 2);
    })));
    return `${closed} of 1000 closed`;
  });

  await run('3 connections x 2000 chunk headers announcing 16 MiB messages', async () => {
    const header = (cs: number) => Buffer.from([0x00, cs & 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0x09, 1, 0, 0, 0]);
    const t = performance.now();
    await Promise.all([0, 1, 2].map(() => rawRtmp((s) => s.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => header(i)))))));
    return `all cut off after ${(performance.now() - t).toFixed(0)} ms`;
  });

  const flood = async (round: number): Promise<string> => {
    const pubs = await Promise.all(Array.from({ length: 30 }, async (_, i) => publisher(`flood${round}x${i}`, await signToken(SECRET, { publish: [`flood${round}x${i}`], ttlSeconds: 600 }), 5)));
    await sleep(6000);
    const list = (await (await fetch(`http://127.0.0.1:${HTTP}/api/streams`, { headers: { Authorization: `Bearer ${admin}` } })).json()) as { streams: unknown[] };
    const exited = pubs.filter((p) => p.exitCode !== null).length;
    for (const p of pubs) p.kill('SIGKILL');
    return `${list.streams.length} live (control + ${list.streams.length - 1}), ${exited} refused publishers exited`;
  };
  await run('30 publishers with valid tokens (cap 16, control included)', () => flood(1));
  // Again: memory that a second flood does not raise further is a high-water mark, not a leak.
  await run('the same 30 publishers again', () => flood(2));

  await run('publishers, WebSockets and REST without a token (20 each)', async () => {
    const pubs = Array.from({ length: 20 }, (_, i) => publisher(`anon${i}`, null, 5));
    const ws = await Promise.all(Array.from({ length: 20 }, () => new Promise<number>((resolve) => {
      const w = new WebSocket(`ws://127.0.0.1:${HTTP}/ws`);
      w.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      w.once('open', () => resolve(101));
      w.on('error', () => undefined);
    })));
    const rest = await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${HTTP}/api/streams`).then((r) => r.status)));
    await Promise.all(pubs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    return `publishers all exited; WebSocket answers ${[...new Set(ws)].join('/')}; REST answers ${[...new Set(rest)].join('/')}`;
  });

  await run('a second publisher on the live id with a valid token (a leaked key)', async () => {
    const intruder = publisher('control', await signToken(SECRET, { publish: ['control'], ttlSeconds: 600 }));
    const t = performance.now();
    await new Promise((r) => intruder.once('exit', r));
    return `intruder disconnected after ${(performance.now() - t).toFixed(0)} ms`;
  });

  await run('one WebSocket sends 10,000 junk messages', async () => {
    const w = new WebSocket(`ws://127.0.0.1:${HTTP}/ws?token=${admin}`);
    await new Promise((r) => w.once('open', r));
    const code = new Promise<number>((r) => w.once('close', (c) => r(c)));
    for (let i = 0; i < 10_000 && w.readyState === w.OPEN; i++) w.send('{"type":"nonsense","x":' + i + '}');
    const t = performance.now();
    const health = await fetch(`http://127.0.0.1:${HTTP}/api/health`).then(() => performance.now() - t);
    return `closed with ${await code}; /api/health answered in ${health.toFixed(0)} ms meanwhile`;
  });

  await run('one WebSocket subscribes to 360,000 ids (256 per message)', async () => {
    const w = new WebSocket(`ws://127.0.0.1:${HTTP}/ws?token=${admin}`);
    await new Promise((r) => w.once('open', r));
    let errors = 0;
    w.on('message', (d, binary) => {
      if (!binary && String(d).includes('"error"')) errors++;
    });
    const code = new Promise<number>((r) => w.once('close', (c) => r(c)));
    for (let m = 0; m < 360_000 / 256 && w.readyState === w.OPEN; m++) {
      w.send(JSON.stringify({ type: 'subscribe', streams: Array.from({ length: 256 }, (_, i) => `id${m * 256 + i}`) }));
      if (m % 40 === 39) await sleep(50);
    }
    const c = await Promise.race([code, sleep(3000).then(() => null)]);
    w.terminate();
    return `${errors} refusals, then ${c === null ? 'still open' : `closed with ${c}`}`;
  });

  sub.ws.close();
  control.kill('SIGKILL');
  service.kill('SIGTERM');
  await new Promise((r) => service.once('exit', r));
  writeFileSync(join(out, 'chaos.json'), `${JSON.stringify({ when: new Date().toISOString(), rows }, null, 2)}\n`);
  log(`\nwrote ${join(out, 'chaos.json')}; the service survived: ${service.exitCode === 0 ? 'yes (clean exit on SIGTERM)' : `exit ${service.exitCode}`}`);
}

main().catch((err: unknown) => {
  log(`chaos: ${String(err)}`);
  process.exit(1);
});
