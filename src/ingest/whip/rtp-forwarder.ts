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
}

export interface RtpForwarderCounters {
  packets: number;
  octets: number;
  /** Packets dropped because the send queue was full. */
  dropped: number;
  sendErrors: number;
  senderReports: number;
}

/** Header fields the forwarder needs from a received RTP packet. */
export interface RtpHeaderInfo {
  readonly ssrc: number;
  readonly timestamp: number;
}

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
  readonly counters: RtpForwarderCounters = { packets: 0, octets: 0, dropped: 0, sendErrors: 0, senderReports: 0 };
  private readonly socket: Socket;
  private readonly host: string;
  private readonly maxQueued: number;
  private lastReportMs = -Infinity;
  private closed = false;
  private ssrc = 0;
  private anchorWallMs = 0;
  private lastTimestamp = 0;
  /** RTP ticks since the anchor packet, unwrapped past 2^32. */
  private extendedTicks = 0;
  private anchored = false;

  private constructor(private readonly options: RtpForwarderOptions, socket: Socket) {
    this.socket = socket;
    this.host = options.host ?? '127.0.0.1';
    this.maxQueued = options.maxQueued ?? 512;
    socket.on('error', () => {
      this.counters.sendErrors++;
    });
  }

  /** Binds the sending socket to loopback, so the datagrams never leave the machine. */
  static async open(options: RtpForwarderOptions): Promise<RtpForwarder> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, options.host ?? '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
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
    this.socket.send(data, this.options.port, this.host, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

}
