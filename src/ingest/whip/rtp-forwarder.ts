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
  /** Total |moves| of the stream's clock anchor (ms): arrival jitter early on, then the switch to the publisher's clock. */
  anchorCorrectionMs: number;
}

/** Header fields the forwarder needs from a received RTP packet. */
export interface RtpHeaderInfo {
  readonly ssrc: number;
  readonly timestamp: number;
}

/** Anchor moves smaller than this are jitter, not worth a step in ffmpeg's timestamps. */
const ANCHOR_SLACK_MS = 15;

/** Sending this long without a refusal means ffmpeg is listening again. */
const CONSUMER_SETTLE_MS = 250;

/**
 * Sends one received RTP stream to ffmpeg over loopback UDP, with RTCP sender reports of its own.
 *
 * A/V sync: ffmpeg's RTP demuxer aligns the streams of one SDP only through the NTP times in their
 * sender reports; without them every stream starts at 0 at its own first packet. So each forwarder
 * keeps a linear map from its stream's RTP ticks to local wall time (`anchor` = wall time of the
 * stream's first tick) and describes it in every report it sends:
 * - until the publisher's own sender report for the stream arrives, the anchor comes from arrival
 *   times (the least-delayed packet so far, so a late first packet does not shift the stream);
 * - from then on, from the publisher's reports (its capture clock, shared by its audio and video),
 *   moved onto the local clock by one offset per session (see WhipSession). This is what WebRTC
 *   receivers use for lip sync, and it survives a publisher whose packets come in bursts.
 *
 * The reports travel on the RTP port itself (rtcp-mux): ffmpeg's RTP parser recognizes RTCP by its
 * payload type on either socket, and one socket keeps the order, so the report ahead of a packet
 * is read before it. On separate ports ffmpeg reads the RTP socket first and the first packets of
 * a stream would get pts from its own origin, then jump when the report is read.
 */
export class RtpForwarder {
  readonly counters: RtpForwarderCounters = { packets: 0, octets: 0, dropped: 0, sendErrors: 0, senderReports: 0, refused: 0, anchorCorrectionMs: 0 };
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
  /** True once the anchor follows the publisher's sender reports. */
  private publisherClock = false;

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
    // Before the publisher's clock is known: the least-delayed packet so far sets the anchor, so a
    // first packet that came late (a burst after connecting) does not shift this stream for good.
    const impliedAnchor = now - (this.extendedTicks / this.options.clockRate) * 1000;
    if (!this.publisherClock && impliedAnchor < this.anchorWallMs - ANCHOR_SLACK_MS) {
      this.counters.anchorCorrectionMs += this.anchorWallMs - impliedAnchor;
      this.anchorWallMs = impliedAnchor;
    }
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

  /**
   * Adopts the publisher's clock from one of its sender reports: `wallMs` is the report's NTP time
   * already moved onto the local clock, `rtpTimestamp` the RTP time it names.
   */
  applyPublisherReport(wallMs: number, rtpTimestamp: number): void {
    if (this.closed || !this.anchored) return;
    const ticks = this.extendedTicks + ((rtpTimestamp - this.lastTimestamp) | 0);
    const anchor = wallMs - (ticks / this.options.clockRate) * 1000;
    if (!this.publisherClock || Math.abs(anchor - this.anchorWallMs) > ANCHOR_SLACK_MS) {
      this.counters.anchorCorrectionMs += Math.abs(anchor - this.anchorWallMs);
      this.anchorWallMs = anchor;
    }
    this.publisherClock = true;
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
