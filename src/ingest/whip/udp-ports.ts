import { createSocket, type Socket } from 'node:dgram';

/**
 * Finds an even UDP port P on `host` with P+1 free too (ffmpeg's RTP/RTCP pair for an SDP input).
 * The sockets are released before ffmpeg binds them, so another process could take the pair in
 * between; the window is short and a lost race shows up as an ffmpeg bind error and restart.
 */
export async function reserveUdpPortPair(host = '127.0.0.1', attempts = 20): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const first = await bind(host, 0);
    if (!first) continue;
    const port = first.address().port;
    const even = port % 2 === 0 ? port : port + 1;
    const rtp = even === port ? first : await bind(host, even);
    const rtcp = rtp ? await bind(host, even + 1) : undefined;
    for (const s of new Set([first, rtp, rtcp])) if (s) await close(s);
    if (rtp && rtcp) return even;
  }
  throw new Error(`no free UDP port pair on ${host}`);
}

function bind(host: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, host, () => resolve(s));
  });
}

function close(s: Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}
