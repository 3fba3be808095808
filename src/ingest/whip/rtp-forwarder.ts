import { createSocket, type Socket } from 'node:dgram';
import { nowMs } from '../../pipeline/types.ts';
import { buildSenderReport } from './sender-report.ts';

export interface RtpForwarderOptions {
  /** ffmpeg's RTP port on `host`; our sender reports go to port + 1. */
  readonly port: number;
  readonly clockRate: number;
  readonly host?: string;
  /** Datagrams allowed to wait in the socket's send queue before new ones are dropped. */
  readonly maxQueued?: number;
  /** How often a sender report is repeated, so an ffmpeg that (re)starts mid-stream syncs quickly. */
  readonly senderReportIntervalMs?: number;
  /** Called when RTCP comes back from ffmpeg after a silence: a (new) ffmpeg is listening. */
  readonly onConsumerActive?: () => void;
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

/** A silence after which RTCP from ffmpeg counts as a new consumer. */
const CONSUMER_GAP_MS = 3000;

/**
 * Sends one received RTP stream to ffmpeg over loopback UDP, with RTCP sender reports of its own.
 *
 * A/V sync: ffmpeg's RTP demuxer aligns the streams of one SDP only through the NTP times in their
 * sender reports; without them every stream starts at 0 at its own first packet. The publisher's
 * reports come late (Chrome: audio after ~2.5 s) and on the publisher's clock, so instead each
 * forwarder anchors its stream at the local wall time its first packet arrived and describes every
 * later timestamp by that one linear map (wall = anchor + Δrtp / clockRate). Both streams thus share
 * the local wall clock as origin; the error is the difference in network delay of the two first
 * packets (milliseconds on a LAN). A report goes out before the first packet and then periodically.
 */
export class RtpForwarder {
  readonly counters: RtpForwarderCounters = { packets: 0, octets: 0, dropped: 0, sendErrors: 0, senderReports: 0 };
  private readonly socket: Socket;
  private readonly host: string;
  private readonly maxQueued: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private ssrc = 0;
  private anchorWallMs = 0;
  private lastTimestamp = 0;
  /** RTP ticks since the anchor packet, unwrapped past 2^32. */
  private extendedTicks = 0;
  private anchored = false;
  private lastConsumerRtcpMs = -Infinity;

  private constructor(private readonly options: RtpForwarderOptions, socket: Socket) {
    this.socket = socket;
    this.host = options.host ?? '127.0.0.1';
    this.maxQueued = options.maxQueued ?? 512;
    socket.on('message', () => this.onConsumerRtcp());
    socket.on('error', () => {
      this.counters.sendErrors++;
    });
  }

  /** Binds the sending socket (so ffmpeg's receiver reports can come back to it). */
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
      this.sendSenderReport();
      const every = this.options.senderReportIntervalMs ?? 500;
      this.timer = setInterval(() => this.sendSenderReport(), every);
      this.timer.unref();
    } else {
      // Signed 32-bit difference: handles wrap-around and slightly reordered packets.
      this.extendedTicks += (header.timestamp - this.lastTimestamp) | 0;
      this.lastTimestamp = header.timestamp;
    }
    this.send(packet, this.options.port, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.socket.close();
  }

  private sendSenderReport(): void {
    if (this.closed) return;
    const wall = this.anchorWallMs + (this.extendedTicks / this.options.clockRate) * 1000;
    const sr = buildSenderReport(this.ssrc, wall, this.lastTimestamp, this.counters.packets, this.counters.octets);
    this.counters.senderReports++;
    this.send(sr, this.options.port + 1, false);
  }

  private send(data: Uint8Array, port: number, media: boolean): void {
    if (this.socket.getSendQueueCount() >= this.maxQueued) {
      if (media) this.counters.dropped++;
      return;
    }
    if (media) {
      this.counters.packets++;
      this.counters.octets += data.length;
    }
    this.socket.send(data, port, this.host, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

  private onConsumerRtcp(): void {
    const now = nowMs();
    const gap = now - this.lastConsumerRtcpMs;
    this.lastConsumerRtcpMs = now;
    if (gap > CONSUMER_GAP_MS) this.options.onConsumerActive?.();
  }
}
