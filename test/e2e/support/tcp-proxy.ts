import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/**
 * A TCP pass-through in front of the service, so a test can cut every connection a page has
 * (its WebSocket included) without restarting the server: what a flaky network does.
 */
export interface TcpProxy {
  readonly port: number;
  /** Destroys every open connection; new ones are still accepted. Returns how many were cut. */
  dropAll(): number;
  close(): Promise<void>;
}

export function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((downstream) => {
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [downstream, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        dropAll() {
          const n = pairs.size;
          for (const [a, b] of [...pairs]) {
            a.destroy();
            b.destroy();
          }
          pairs.clear();
          return n;
        },
        close() {
          for (const [a, b] of pairs) {
            a.destroy();
            b.destroy();
          }
          pairs.clear();
          return new Promise<void>((r) => server.close(() => r()));
        },
      });
    });
  });
}
