/**
 * One avloc node in a child process (so a test can SIGKILL it, as a crash would): the real
 * service with the fixture bundle, given its config overrides as JSON in argv[2]. It prints one
 * line `AVLOC_NODE_READY {"httpPort","rtmpPort","nodeId"}` when it serves, and closes on SIGTERM.
 */
import type { ConfigInput } from '../../src/config/schema.ts';
import { startTestServer } from './service.ts';

const overrides = JSON.parse(process.argv[2] ?? '{}') as ConfigInput;
const server = await startTestServer(overrides);
process.stdout.write(`AVLOC_NODE_READY ${JSON.stringify({ httpPort: server.httpPort, rtmpPort: server.rtmpPort, nodeId: server.nodeId })}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
