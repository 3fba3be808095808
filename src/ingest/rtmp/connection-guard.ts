/**
 * What stands in front of NMS's RTMP handler for each TCP connection, until it publishes or plays.
 * We own the listener (src/ingest/rtmp-ingest.ts) so that a flood of connections that never get
 * anywhere cannot stall accept or hold memory, and so that garbage bytes close one socket instead
 * of the whole service: NMS parses inside its socket 'data' listener without a try/catch.
 */
import type net from 'node:net';
import { describeError } from '../../errors.ts';
import type { Logger } from '../../log.ts';

/**
 * What a connection that is not yet publishing or playing may hold: RTMP's handshake is 3 KiB and
 * its connect / createStream / publish commands well under 1 KiB each, so a peer past the byte
 * budget is not a client. At most `perAddress` such connections from one address and `total` in
 * all: a flood of connections that never get anywhere cannot stall accept or hold memory. 32, not
 * fewer: the service's own decoders connect from loopback too, several at once when streams start.
 */
export const HANDSHAKE_LIMITS = { bytes: 256 * 1024, perAddress: 32, total: 128 } as const;

export class ConnectionGuard {
  /** Connections closed because NMS threw while parsing their bytes. */
  badConnections = 0;
  /**
   * Connections refused or closed before they publish or play: HANDSHAKE_LIMITS here, and the
   * media hold's limit while a token is checked (media-hold.ts), which the ingest counts here.
   */
  handshakeRefusals = 0;
  /** Connections not yet publishing or playing, by remote address. */
  private readonly handshaking = new Map<string, number>();
  private handshakingTotal = 0;
  /** Sockets whose session got as far as publish or play (the handshake deadline spares them). */
  private readonly started = new WeakSet<net.Socket>();
  private readonly uncounters = new WeakMap<net.Socket, () => void>();

  constructor(
    private readonly log: Logger,
    /** A connection neither publishing nor playing this long after it connected is closed. */
    private readonly handshakeTimeoutMs: number,
  ) {}

  /**
   * Takes a new connection into the handshake budget: counted, its bytes metered, its 'data'
   * listeners guarded, its deadline set. Over HANDSHAKE_LIMITS it is destroyed and false returned.
   */
  admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress ?? '?';
    const fromHere = this.handshaking.get(address) ?? 0;
    if (fromHere >= HANDSHAKE_LIMITS.perAddress || this.handshakingTotal >= HANDSHAKE_LIMITS.total) {
      this.handshakeRefusals++;
      if (this.handshakeRefusals % 100 === 1) {
        this.log.warn('refusing RTMP connections: too many not yet publishing or playing', { remote: address, fromAddress: fromHere, total: this.handshakingTotal, refused: this.handshakeRefusals });
      }
      socket.destroy();
      return false;
    }
    this.handshaking.set(address, fromHere + 1);
    this.handshakingTotal++;
    let counted = true;
    // Leaves the handshake count when it publishes or plays (started), or closes first.
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      this.handshakingTotal--;
      const n = (this.handshaking.get(address) ?? 1) - 1;
      if (n <= 0) this.handshaking.delete(address);
      else this.handshaking.set(address, n);
    };
    this.uncounters.set(socket, uncount);
    socket.once('close', uncount);
    let received = 0;
    // NMS parses inside its socket 'data' listener without a try/catch; a throw there (garbage
    // that gets past the handshake) would be an uncaught exception. Guard that listener.
    const on = socket.on.bind(socket);
    const guarded = (event: string | symbol, listener: (...args: never[]) => void): net.Socket => {
      if (event !== 'data') return on(event as 'data', listener as (b: Buffer) => void);
      return on('data', (data: Buffer) => {
        if (counted) {
          received += data.length;
          if (received > HANDSHAKE_LIMITS.bytes) {
            this.handshakeRefusals++;
            this.log.warn('closing RTMP connection that sent too much before publishing or playing', { remote: `${socket.remoteAddress}:${socket.remotePort}`, bytes: received });
            socket.destroy();
            return;
          }
        }
        try {
          (listener as (b: Buffer) => void)(data);
        } catch (err) {
          this.badConnections++;
          this.log.warn('closing RTMP connection that sent bytes we cannot parse', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: describeError(err) });
          socket.destroy();
        }
      });
    };
    socket.on = guarded as typeof socket.on;
    socket.setNoDelay(true);
    const deadline = setTimeout(() => {
      if (this.started.has(socket)) return;
      this.log.warn('closing RTMP connection that did not publish or play in time', {
        remote: `${socket.remoteAddress}:${socket.remotePort}`, ms: this.handshakeTimeoutMs,
      });
      socket.destroy();
    }, this.handshakeTimeoutMs);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    return true;
  }

  /** The connection got as far as publish or play: past the handshake deadline, budget and counts. */
  markStarted(socket: net.Socket | undefined): void {
    if (!socket) return;
    this.started.add(socket);
    this.uncounters.get(socket)?.();
  }
}
