import type { MediaKind } from './offer-filter.ts';

/** One RTP stream forwarded to ffmpeg, as the SDP file describes it. */
export interface RtpSdpTrack {
  readonly kind: MediaKind;
  /** Even UDP port on 127.0.0.1 ffmpeg listens on for RTP and our sender reports (ffmpeg also binds port + 1). */
  readonly port: number;
  readonly payloadType: number;
  /** e.g. "VP8", "H264", "opus". */
  readonly codec: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** The negotiated a=fmtp parameters (H.264: packetization-mode, profile-level-id). */
  readonly fmtp?: string;
}

/** Writes the session description ffmpeg's SDP demuxer reads to receive the forwarded RTP. */
export function buildRtpSdp(sessionName: string, tracks: readonly RtpSdpTrack[]): string {
  const lines = [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    `s=${sessionName.replace(/[\r\n]/g, '')}`,
    'c=IN IP4 127.0.0.1',
    't=0 0',
  ];
  for (const t of tracks) {
    lines.push(`m=${t.kind} ${t.port} RTP/AVP ${t.payloadType}`);
    const channels = t.kind === 'audio' && t.channels !== undefined ? `/${t.channels}` : '';
    lines.push(`a=rtpmap:${t.payloadType} ${t.codec}/${t.clockRate}${channels}`);
    if (t.fmtp) lines.push(`a=fmtp:${t.payloadType} ${t.fmtp}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\n')}\n`;
}
