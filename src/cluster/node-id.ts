import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Characters a node id may have (the schema's rule): it goes into Redis keys and log lines. */
const UNSAFE = /[^A-Za-z0-9._:-]/g;

/**
 * This node's name in the cluster: `cluster.nodeId` when set, else `<hostname>:<http port>`, which
 * is unique among nodes that serve on their own address; with port 0 (tests, a second node on one
 * machine) the port says nothing, so a random suffix stands in for it.
 */
export function resolveNodeId(configured: string | undefined, httpPort: number): string {
  if (configured) return configured;
  const host = (hostname() || 'node').replace(UNSAFE, '-').slice(0, 100);
  return `${host}:${httpPort > 0 ? httpPort : randomBytes(4).toString('hex')}`;
}
