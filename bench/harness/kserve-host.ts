import { startKserveV2Server } from '../../test/support/kserve-v2-server.ts';

/**
 * Child-process entry for the in-repo KServe v2 server (test/support/kserve-v2-server.ts) around
 * one bundle, so that its JSON parsing and ONNX Runtime calls run on their own event loop and not
 * on the bench's, as a real inference server's would. Requests are not recorded (bounded memory).
 * IPC: argv[2] = bundle folder; sends {type:'ready', url}; on {type:'close'} closes and exits.
 */
const bundleDir = process.argv[2];
if (!bundleDir) throw new Error('kserve-host: pass the bundle folder');
const server = await startKserveV2Server({ bundleDir, record: false });
process.send?.({ type: 'ready', url: server.url });
const stop = (): void => {
  void server.close().finally(() => process.exit(0));
};
process.on('message', (msg: { type?: string }) => {
  if (msg.type === 'close') stop();
});
process.on('disconnect', stop);
