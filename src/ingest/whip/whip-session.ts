import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RTCPeerConnection, RtcpSrPacket, useH264, useOPUS, useVP8 } from 'werift';
import type { MediaStreamTrack, RTCRtpCodecParameters, RTCRtpTransceiver, RtpPacket } from 'werift';
import { AvlocError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { nowMs } from '../../pipeline/types.ts';
import type { Source } from '../../media/source.ts';
import { isKeyframe } from './keyframe.ts';
import type { MediaKind } from './offer-filter.ts';
import { RtpForwarder, type RtpForwarderCounters } from './rtp-forwarder.ts';
import { buildRtpSdp, type RtpSdpTrack } from './rtp-sdp.ts';
import { reserveUdpPortPair } from './udp-ports.ts';

export interface WhipSessionOptions {
  readonly id: string;
  readonly resourceId: string;
  /** The offer, already through filterOffer(). */
  readonly offerSdp: string;
  readonly log: Logger;
  /** Host addresses gathered besides the machine's interfaces (werift skips loopback by itself). */
  readonly iceAdditionalHostAddresses: readonly string[];
  readonly iceUseIpv6: boolean;
  readonly icePortRange?: readonly [number, number];
  readonly iceGatheringTimeoutMs: number;
  /** End the session when no media has arrived this long after the answer. */
  readonly connectTimeoutMs: number;
  /** End the session when media stops for this long. */
  readonly stallTimeoutMs: number;
  /** How often PLI is repeated while ffmpeg waits for a keyframe. */
  readonly keyframeRetryMs: number;
  readonly tmpRoot?: string;
  readonly onStarted: (session: WhipSession) => void;
  readonly onEnded: (session: WhipSession, reason: string) => void;
}

export interface WhipSessionStats {
  readonly video?: RtpForwarderCounters;
  readonly audio?: RtpForwarderCounters;
  readonly keyframeRequests: number;
  /** Video packets that started a keyframe. */
  readonly keyframes: number;
  /** Times a forwarder saw ffmpeg start listening after nobody did (per track): decoder (re)starts. */
  readonly consumerStarts: number;
  /** Packets whose payload type is not the one the SDP file declares (codec switch mid-stream). */
  readonly unexpectedPayloadType: number;
}

interface Leg {
  readonly kind: MediaKind;
  readonly codec: RTCRtpCodecParameters;
  readonly forwarder: RtpForwarder;
  readonly transceiver: RTCRtpTransceiver;
  track?: MediaStreamTrack;
}

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** ffmpeg flags for reading the forwarded RTP: a reorder window for NACK retransmits, large socket buffers. */
const FFMPEG_RTP_FLAGS = [
  '-protocol_whitelist', 'file,udp,rtp',
  '-reorder_queue_size', '256',
  '-buffer_size', '4194304',
  '-max_delay', '200000',
] as const;

/**
 * One WHIP publisher: a werift answerer, one RTP forwarder per received track, and the SDP file
 * that lets ffmpeg read them like any other input. Everything it holds is released by close().
 */
export class WhipSession implements Source {
  readonly kind = 'whip' as const;
  readonly live = true;
  readonly id: string;
  readonly resourceId: string;
  readonly ffmpegInput: readonly string[];
  readonly sdpPath: string;
  readonly tmpDir: string;
  startedAtMs = 0;
  /** The SDP answer with all gathered candidates (no trickle). */
  answerSdp = '';

  private readonly pc: RTCPeerConnection;
  private readonly legs: Leg[] = [];
  /** Tracks announced before their leg was set up (bounded: an offer has few m-lines we accept). */
  private readonly unclaimedTracks: MediaStreamTrack[] = [];
  private readonly createdAtMs = nowMs();
  private lastPacketMs = 0;
  private started = false;
  private waitingForKeyframe = true;
  private keyframeRequests = 0;
  private keyframes = 0;
  private consumerStarts = 0;
  private unexpectedPayloadType = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private lastKeyframeRequestMs = 0;
  private closing: Promise<void> | undefined;
  private publisherClockOffsetMs: number | undefined;

  private constructor(
    private readonly options: WhipSessionOptions,
    tmpDir: string,
    pc: RTCPeerConnection,
  ) {
    this.id = options.id;
    this.resourceId = options.resourceId;
    this.tmpDir = tmpDir;
    this.sdpPath = join(tmpDir, 'stream.sdp');
    this.ffmpegInput = [...FFMPEG_RTP_FLAGS, '-i', this.sdpPath];
    this.pc = pc;
  }

  /** Negotiates with the publisher and prepares the forwarding; the answer is in `answerSdp`. */
  static async create(options: WhipSessionOptions): Promise<WhipSession> {
    const tmpDir = await mkdtemp(join(options.tmpRoot ?? tmpdir(), `avloc-whip-${options.id}-`));
    const pc = new RTCPeerConnection({
      codecs: {
        audio: [useOPUS()],
        // H.264 entries other than packetization-mode=1 are already gone from the offer (offer-filter.ts).
        video: [useVP8(), useH264()],
      },
      iceServers: [],
      iceAdditionalHostAddresses: [...options.iceAdditionalHostAddresses],
      iceUseIpv6: options.iceUseIpv6,
      ...(options.icePortRange ? { icePortRange: [options.icePortRange[0], options.icePortRange[1]] as [number, number] } : {}),
    });
    const session = new WhipSession(options, tmpDir, pc);
    try {
      await session.negotiate();
    } catch (err) {
      await session.end(`negotiation failed: ${err instanceof Error ? err.message : String(err)}`, false);
      throw err;
    }
    return session;
  }

  get stats(): WhipSessionStats {
    const byKind = (k: MediaKind) => this.legs.find((l) => l.kind === k)?.forwarder.counters;
    const video = byKind('video');
    const audio = byKind('audio');
    return {
      ...(video ? { video: { ...video } } : {}),
      ...(audio ? { audio: { ...audio } } : {}),
      keyframeRequests: this.keyframeRequests,
      keyframes: this.keyframes,
      consumerStarts: this.consumerStarts,
      unexpectedPayloadType: this.unexpectedPayloadType,
    };
  }

  /**
   * Asks the publisher for a keyframe (RTCP PLI): browsers send keyframes only on request, and an
   * ffmpeg cannot decode until one arrives. Called when media starts and whenever a forwarder sees
   * an ffmpeg start listening (so decoder restarts need nothing); the decoder may call it as well.
   * PLI is then repeated every keyframeRetryMs until a keyframe is forwarded.
   */
  requestKeyframe(): void {
    this.waitingForKeyframe = true;
    const leg = this.legs.find((l) => l.kind === 'video');
    const ssrc = leg?.track?.ssrc;
    if (!leg || ssrc === undefined || this.closing) return;
    this.keyframeRequests++;
    this.lastKeyframeRequestMs = nowMs();
    leg.transceiver.receiver.sendRtcpPLI(ssrc).catch((err: unknown) => {
      this.options.log.debug('PLI failed', { id: this.id, err: String(err) });
    });
  }

  /** True once end() or close() has been called. */
  get ended(): boolean {
    return this.closing !== undefined;
  }

  close(): Promise<void> {
    return this.end('closed', true);
  }

  /** Frees everything; `reason` goes to onEnded. Idempotent: later calls get the first call's promise. */
  end(reason: string, notify = true): Promise<void> {
    if (!this.closing) {
      // Deferred a tick so re-entrant calls (pc.close() fires 'closed') already see `closing` set.
      this.closing = Promise.resolve().then(async () => {
        if (this.watchdog) clearInterval(this.watchdog);
        for (const leg of this.legs) leg.forwarder.close();
        await this.pc.close().catch(() => undefined);
        await rm(this.tmpDir, { recursive: true, force: true });
        this.options.log.info('WHIP session ended', { id: this.id, reason, ...this.stats });
        if (notify) this.options.onEnded(this, reason);
      });
    }
    return this.closing;
  }

  private async negotiate(): Promise<void> {
    const { pc } = this;
    // werift announces remote tracks during setRemoteDescription, before the legs below exist.
    pc.onTrack.subscribe((track) => this.onTrack(track));
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: this.options.offerSdp });
    } catch (err) {
      // werift throws plain Errors for offers it cannot parse or negotiate: the publisher's fault.
      const msg = err instanceof Error ? err.message : String(err);
      throw new AvlocError('PROTOCOL_INVALID', `offer rejected by the WebRTC stack: ${msg}`, { cause: err });
    }
    const tracks: RtpSdpTrack[] = [];
    for (const transceiver of pc.getTransceivers()) {
      const kind = transceiver.kind;
      if (kind !== 'audio' && kind !== 'video') continue;
      if (this.legs.some((l) => l.kind === kind)) {
        // One track per kind is what the decoder reads; extra ones are not answered.
        transceiver.setDirection('inactive');
        continue;
      }
      const codec = transceiver.codecs.find((c) => !/^(rtx|red|ulpfec)$/i.test(c.name));
      if (!codec) continue;
      const port = await reserveUdpPortPair();
      const forwarder = await RtpForwarder.open({
        port,
        clockRate: codec.clockRate,
        onConsumerActive: () => {
          this.options.log.debug('ffmpeg listening, requesting a keyframe', { id: this.id, kind });
          this.consumerStarts++;
          if (kind === 'video') this.requestKeyframe();
        },
      });
      const leg: Leg = { kind, codec, forwarder, transceiver };
      this.legs.push(leg);
      const early = this.unclaimedTracks.findIndex((t) => t.kind === kind);
      if (early >= 0) this.attachTrack(leg, this.unclaimedTracks.splice(early, 1)[0]!);
      tracks.push({
        kind,
        port,
        payloadType: codec.payloadType,
        codec: codec.name,
        clockRate: codec.clockRate,
        ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
        ...(codec.parameters ? { fmtp: codec.parameters } : {}),
      });
    }
    if (tracks.length === 0) {
      throw new AvlocError('PROTOCOL_INVALID', 'SDP offer has no audio or video track with a supported codec');
    }
    await writeFile(this.sdpPath, buildRtpSdp(`avloc whip ${this.id}`, tracks));

    pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'disconnected' || state === 'closed') void this.end(`peer connection ${state}`);
    });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.waitForGathering();
    const local = pc.localDescription;
    if (!local) throw new AvlocError('INTERNAL', 'werift produced no local description');
    this.answerSdp = local.sdp;
    this.watchdog = setInterval(() => this.checkTimers(), 500);
    this.watchdog.unref();
  }

  private async waitForGathering(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.options.iceGatheringTimeoutMs);
      const sub = this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') done();
      });
      // Answer with what was gathered so far if gathering hangs; host candidates come first anyway.
      function done() {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      }
    });
  }

  private onTrack(track: MediaStreamTrack): void {
    const leg = this.legs.find((l) => l.kind === track.kind && !l.track);
    if (leg) this.attachTrack(leg, track);
    else if (this.unclaimedTracks.length < 4) this.unclaimedTracks.push(track);
  }

  private attachTrack(leg: Leg, track: MediaStreamTrack): void {
    if (leg.track) return;
    leg.track = track;
    track.onReceiveRtp.subscribe((rtp) => this.onRtp(leg, rtp));
    track.onReceiveRtcp.subscribe((rtcp) => {
      if (rtcp instanceof RtcpSrPacket) this.onPublisherReport(leg, rtcp);
    });
  }

  private onRtp(leg: Leg, rtp: RtpPacket): void {
    if (this.closing) return;
    if (rtp.header.payloadType !== leg.codec.payloadType) {
      this.unexpectedPayloadType++;
      return;
    }
    if (rtp.payload.length === 0) return; // padding-only probe packets carry nothing to decode
    this.lastPacketMs = nowMs();
    leg.forwarder.forward(rtp.serialize(), rtp.header);
    if (leg.kind === 'video' && this.waitingForKeyframe && isKeyframe(leg.codec.name, rtp.payload)) {
      this.waitingForKeyframe = false;
      this.keyframes++;
    } else if (leg.kind === 'video' && isKeyframe(leg.codec.name, rtp.payload)) {
      this.keyframes++;
    }
    if (!this.started) {
      this.started = true;
      this.startedAtMs = nowMs();
      this.options.log.info('WHIP stream started', {
        id: this.id,
        tracks: this.legs.map((l) => `${l.kind}:${l.codec.name}/${l.codec.clockRate} pt=${l.codec.payloadType}`),
      });
      this.requestKeyframe();
      this.options.onStarted(this);
    }
  }


  /**
   * The publisher's sender reports put its audio and video on one capture clock. One offset per
   * session (from the first report: local arrival time minus its NTP time) moves that clock onto the
   * local one, so both forwarders keep describing the same origin to ffmpeg.
   */
  private onPublisherReport(leg: Leg, sr: RtcpSrPacket): void {
    const ntp = sr.senderInfo.ntpTimestamp;
    const senderMs = (Number(ntp >> 32n) - NTP_UNIX_OFFSET_S) * 1000 + (Number(ntp & 0xffffffffn) / 2 ** 32) * 1000;
    this.publisherClockOffsetMs ??= nowMs() - senderMs;
    leg.forwarder.applyPublisherReport(senderMs + this.publisherClockOffsetMs, sr.senderInfo.rtpTimestamp);
  }

  private checkTimers(): void {
    const now = nowMs();
    if (!this.started) {
      if (now - this.createdAtMs > this.options.connectTimeoutMs) {
        void this.end(`no media within ${this.options.connectTimeoutMs} ms`);
      }
      return;
    }
    if (now - this.lastPacketMs > this.options.stallTimeoutMs) {
      void this.end(`no packets for ${this.options.stallTimeoutMs} ms`);
      return;
    }
    if (this.waitingForKeyframe && now - this.lastKeyframeRequestMs >= this.options.keyframeRetryMs) {
      this.requestKeyframe();
    }
  }
}
