import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { startServer } from '../../src/server.ts';

/**
 * Child-process entry that runs the service exactly as `avloc serve` does (startServer with a
 * loaded config). The bench runs the service in its own process so that its CPU, RSS and event
 * loop are the service's alone: the subscriber's parsing and the bench's bookkeeping would
 * otherwise be counted as service cost and delay the very messages being timed.
 * Protocol over IPC: argv[2] = JSON config overrides; sends {type:'ready', httpPort, rtmpPort};
 * on {type:'close'} closes the server and exits. {type:'loop-reset'} / {type:'loop-read'} reset and
 * read the event loop's delay histogram: the service reads decoder pipes, relays RTMP and writes
 * WebSockets on that one loop, so time it spends blocked is time every stream waits.
 */
const flags = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const config = loadConfig({ flags, env: {} });
const server = await startServer(config, createLogger('service', (process.env.AVLOC_LOG_LEVEL as 'warn' | undefined) ?? 'warn'));
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
process.send?.({ type: 'ready', httpPort: server.httpPort, rtmpPort: server.rtmpPort });
process.on('message', (msg: { type?: string }) => {
  if (msg.type === 'loop-reset') {
    loop.reset();
    return;
  }
  if (msg.type === 'loop-read') {
    const ms = (ns: number) => ns / 1e6;
    process.send?.({ type: 'loop', p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max), mean: ms(loop.mean) });
    return;
  }
  if (msg.type !== 'close') return;
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
// The parent dying must not leave a service (and its ffmpeg children) behind.
process.on('disconnect', () => {
  void server.close().finally(() => process.exit(0));
});
