import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { AvlocClient } from '../../src/wire/client.ts';
import type { ClientEventName, ClientEvents } from '../../src/wire/client.ts';
import { startServer, type AvlocServer } from '../../src/server.ts';

export const FIXTURE_MODEL = fileURLToPath(new URL('../fixtures/avin-tiny-random', import.meta.url));

/** The real service on loopback (free ports) with the random-weight fixture bundle. */
export async function startTestServer(overrides: ConfigInput = {}): Promise<AvlocServer> {
  const config = configSchema.parse({
    ...overrides,
    http: { host: '127.0.0.1', port: 0, ...overrides.http },
    rtmp: { host: '127.0.0.1', port: 0, ...overrides.rtmp },
    model: { dir: FIXTURE_MODEL, intraOpThreads: 1, ...overrides.model },
  });
  return startServer(config, createLogger('test', process.env.AVLOC_TEST_DEBUG ? 'debug' : 'warn'));
}

export function rtmpUrl(server: AvlocServer, id: string): string {
  return `rtmp://127.0.0.1:${server.rtmpPort}/live/${id}`;
}

export async function connectClient(server: AvlocServer): Promise<AvlocClient> {
  return AvlocClient.connect(`ws://127.0.0.1:${server.httpPort}/ws`, { WebSocket });
}

/**
 * Resolves with the first `n` events of a kind that pass `match`, or rejects after `timeoutMs`
 * naming what it waited for (a stuck pipeline fails with a reason, not a hang).
 */
export function collect<K extends ClientEventName>(
  client: AvlocClient,
  name: K,
  n: number,
  match: (ev: ClientEvents[K]) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<ClientEvents[K][]> {
  return new Promise((resolve, reject) => {
    const got: ClientEvents[K][] = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${n} "${name}" events (got ${got.length})`));
    }, timeoutMs);
    const off = client.on(name, (ev) => {
      if (!match(ev)) return;
      got.push(ev);
      if (got.length >= n) {
        clearTimeout(timer);
        off();
        resolve(got);
      }
    });
  });
}

export async function getJson(server: AvlocServer, path: string): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`);
  return res.json();
}

export async function getText(server: AvlocServer, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`);
  return res.text();
}
