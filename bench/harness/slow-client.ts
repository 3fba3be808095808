import { WebSocket } from 'ws';

/**
 * The deliberately slow subscriber of the soak: a raw socket that subscribes to everything with
 * previews (the largest messages) and then stops reading. Pausing the socket stops the kernel
 * buffer from draining, so the server's writes back up into its per-client queue, which must stay
 * bounded (drop-oldest) while everyone else is served on time.
 */
export class SlowClient {
  private readonly ws: WebSocket;
  received = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', () => {
      this.received++;
    });
    ws.on('error', () => undefined);
  }

  static connect(url: string): Promise<SlowClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => {
        ws.send(JSON.stringify({ type: 'subscribe', streams: '*', format: 'json', preview: true }));
        const c = new SlowClient(ws);
        // Read the hello and subscription reply, then stop reading for good.
        setTimeout(() => ws.pause(), 200);
        resolve(c);
      });
      ws.once('error', reject);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
