import { createSocket, type Socket } from 'node:dgram';
import { nowMs } from '../../pipeline/types.ts';
import { buildSenderReport } from './sender-report.ts';

export interface RtpForwarderOptions {
  /** ffmpeg's RTP port on `host`; our sender reports go to the same port (ffmpeg tells RTCP by its payload type). */
  readonly port: number;
  readonly clockRate: number;
  readonly host?: string;
  /** Datagrams allowed to wait in the socket's send queue before new ones are dropped. */
  readonly maxQueued?: number;
  /**
   * Least time between two sender reports. One goes out ahead of any packet when the last is older,
   * so an ffmpeg that (re)starts mid-stream sees at most this much media before its first report.
   */
  readonly senderReportIntervalMs?: number;
  /**
   * Called when ffmpeg starts listening after a time nobody did (its port refused our datagrams):
   * a (re)started ffmpeg needs a keyframe before it can decode anything.
   */
  readonly onConsumerActive?: () => void;
}

export interface RtpForwarderCounters {
  packets: number;
  octets: number;
  /** Packets dropped because the send queue was full. */
  dropped: number;
  sendErrors: number;
  senderReports: number;
  /** Datagrams refused because nobody listened on the port (ffmpeg not started yet, or restarting). */
  refused: number;
}

/** Header fields the forwarder needs from a received RTP packet. */
export interface RtpHeaderInfo {
  readonly ssrc: number;
  readonly timestamp: number;
}

/** Sending this long without a refusal means ffmpeg is listening again. */
const CONSUMER_SETTLE_MS = 250;

/**
 * Sends one received RTP stream to ffmpeg over loopback UDP, with RTCP sender reports of its own.
 *
 * A/V sync: ffmpeg's RTP demuxer aligns the streams of one SDP only through the NTP times in their
 * sender reports; without them every stream starts at 0 at its own first packet. The publisher's
 * reports come late (Chrome: audio after ~2.5 s) and on the publisher's clock, so instead each
 * forwarder anchors its stream at the local wall time its first packet arrived and describes every
 * later timestamp by that one linear map (wall = anchor + Δrtp / clockRate). Both streams thus share
 * the local wall clock as origin; the error is the difference in network delay of the two first
 * packets (milliseconds on a LAN).
 *
 * The reports travel on the RTP port itself (rtcp-mux): ffmpeg's RTP parser recognizes RTCP by its
 * payload type on either socket, and one socket keeps the order, so the report ahead of a packet
 * is read before it. On separate ports ffmpeg reads the RTP socket first and the first packets of
 * a stream would get pts from its own origin, then jump when the report is read.
 */
export class RtpForwarder {
  readonly counters: RtpForwarderCounters = { packets: 0, octets: 0, dropped: 0, sendErrors: 0, senderReports: 0, refused: 0 };
  private readonly socket: Socket;
  private readonly maxQueued: number;
  private lastReportMs = -Infinity;
  private lastRefusedMs = -Infinity;
  private consumerAbsent = false;
  private closed = false;
  private ssrc = 0;
  private anchorWallMs = 0;
  private lastTimestamp = 0;
  /** RTP ticks since the anchor packet, unwrapped past 2^32. */
  private extendedTicks = 0;
  private anchored = false;

  private constructor(private readonly options: RtpForwarderOptions, socket: Socket) {
    this.socket = socket;
    this.maxQueued = options.maxQueued ?? 512;
    // The socket is connected, so the kernel reports ICMP port-unreachable as ECONNREFUSED: that is
    // how the forwarder knows whether an ffmpeg is listening.
    // Node reports it on the 'error' event or in the next send's callback.
    socket.on('error', (err) => this.onSendError(err));
  }

  private onSendError(err: NodeJS.ErrnoException): void {
    if (err.code === 'ECONNREFUSED') {
      this.counters.refused++;
      this.lastRefusedMs = nowMs();
      this.consumerAbsent = true;
    } else {
      this.counters.sendErrors++;
    }
  }

  /** Binds the sending socket to loopback, so the datagrams never leave the machine. */
  static async open(options: RtpForwarderOptions): Promise<RtpForwarder> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, options.host ?? '127.0.0.1', () => {
        socket.connect(options.port, options.host ?? '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
    });
    return new RtpForwarder(options, socket);
  }

  forward(packet: Uint8Array, header: RtpHeaderInfo): void {
    if (this.closed) return;
    if (!this.anchored) {
      this.anchored = true;
      this.ssrc = header.ssrc;
      this.anchorWallMs = nowMs();
      this.lastTimestamp = header.timestamp;
    } else {
      // Signed 32-bit difference: handles wrap-around and slightly reordered packets.
      this.extendedTicks += (header.timestamp - this.lastTimestamp) | 0;
      this.lastTimestamp = header.timestamp;
    }
    const now = nowMs();
    if (this.consumerAbsent && now - this.lastRefusedMs > CONSUMER_SETTLE_MS) {
      this.consumerAbsent = false;
      this.options.onConsumerActive?.();
    }
    if (now - this.lastReportMs >= (this.options.senderReportIntervalMs ?? 20)) {
      this.lastReportMs = now;
      this.sendSenderReport();
    }
    this.send(packet, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private sendSenderReport(): void {
    if (this.closed) return;
    const wall = this.anchorWallMs + (this.extendedTicks / this.options.clockRate) * 1000;
    const sr = buildSenderReport(this.ssrc, wall, this.lastTimestamp, this.counters.packets, this.counters.octets);
    this.counters.senderReports++;
    this.send(sr, false);
  }

  private send(data: Uint8Array, media: boolean): void {
    if (this.socket.getSendQueueCount() >= this.maxQueued) {
      if (media) this.counters.dropped++;
      return;
    }
    if (media) {
      this.counters.packets++;
      this.counters.octets += data.length;
    }
    this.socket.send(data, (err) => {
      if (err) this.onSendError(err);
    });
  }

}
