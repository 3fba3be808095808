import { AvlocError } from '../../errors.ts';

/** The codecs the decoder path accepts from a WHIP publisher, per media kind. */
export type MediaKind = 'audio' | 'video';

export interface FilteredOffer {
  /** The offer with every unsupported payload type removed from its audio/video sections. */
  readonly sdp: string;
  /** Media kinds that kept at least one supported codec, in m-line order. */
  readonly kinds: readonly MediaKind[];
}

interface Section {
  lines: string[];
  kind: string;
}

/**
 * Validates a WHIP offer and strips the payload types the ffmpeg side cannot take.
 *
 * Why munge the offer: werift negotiates by MIME type only, so it would answer an H.264
 * packetization-mode=0 entry (or RTX/RED/FEC) as readily as the one we want, and the browser sends
 * with the first codec of the answer. Removing them up front makes the answer list only codecs
 * the SDP file for ffmpeg can describe: Opus for audio, VP8 or H.264 packetization-mode=1 for video.
 */
export function filterOffer(sdp: string): FilteredOffer {
  const text = sdp.replace(/\r\n/g, '\n').trim();
  if (!text.startsWith('v=0')) {
    throw new AvlocError('PROTOCOL_INVALID', 'malformed SDP offer: it must start with "v=0"');
  }
  const lines = text.split('\n').map((l) => l.trimEnd());
  const bad = lines.find((l) => l.length > 0 && !/^[a-z]=/.test(l));
  if (bad !== undefined) {
    throw new AvlocError('PROTOCOL_INVALID', `malformed SDP offer: bad line "${bad.slice(0, 60)}"`);
  }
  const session: string[] = [];
  const sections: Section[] = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    if (line.startsWith('m=')) {
      sections.push({ lines: [line], kind: line.slice(2).split(' ')[0] ?? '' });
    } else if (sections.length > 0) {
      sections[sections.length - 1]!.lines.push(line);
    } else {
      session.push(line);
    }
  }
  if (!sections.some((s) => s.kind === 'audio' || s.kind === 'video')) {
    throw new AvlocError('PROTOCOL_INVALID', 'SDP offer has neither an audio nor a video section');
  }
  // Without these werift answers happily and the connection fails a moment later; say why up front.
  for (const attr of ['ice-ufrag', 'ice-pwd', 'fingerprint']) {
    if (!lines.some((l) => l.startsWith(`a=${attr}:`))) {
      throw new AvlocError('PROTOCOL_INVALID', `SDP offer has no a=${attr}: WHIP needs a WebRTC offer (ICE + DTLS-SRTP)`);
    }
  }
  const kinds: MediaKind[] = [];
  const out = [...session];
  for (const section of sections) {
    if (section.kind !== 'audio' && section.kind !== 'video') {
      out.push(...section.lines);
      continue;
    }
    const filtered = filterSection(section.lines, section.kind);
    kinds.push(section.kind);
    out.push(...filtered);
  }
  return { sdp: `${out.join('\r\n')}\r\n`, kinds };
}

function filterSection(lines: readonly string[], kind: MediaKind): string[] {
  const mline = lines[0] ?? '';
  const parts = mline.split(' ');
  if (parts.length < 4) throw new AvlocError('PROTOCOL_INVALID', `malformed SDP offer: bad m-line "${mline}"`);
  const offered = parts.slice(3);
  const names = new Map<string, string>();
  const fmtp = new Map<string, string>();
  for (const line of lines) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(line);
    if (rtpmap) names.set(rtpmap[1]!, rtpmap[2]!);
    const f = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (f) fmtp.set(f[1]!, f[2]!);
  }
  const keep = offered.filter((pt) => isSupported(kind, names.get(pt), fmtp.get(pt)));
  if (keep.length === 0) {
    const list = offered.map((pt) => names.get(pt) ?? pt).join(', ');
    const want = kind === 'audio' ? 'Opus' : 'VP8 or H.264 packetization-mode=1';
    throw new AvlocError('PROTOCOL_INVALID', `no supported ${kind} codec in the offer (offered: ${list}; supported: ${want})`);
  }
  const keepSet = new Set(keep);
  const result = [[...parts.slice(0, 3), ...keep].join(' ')];
  for (const line of lines.slice(1)) {
    const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(line)?.[1];
    if (pt !== undefined && !keepSet.has(pt)) continue;
    result.push(line);
  }
  return result;
}

function isSupported(kind: MediaKind, codec: string | undefined, fmtp: string | undefined): boolean {
  const name = codec?.toLowerCase();
  if (kind === 'audio') return name === 'opus';
  if (name === 'vp8') return true;
  if (name === 'h264') return /(?:^|;)\s*packetization-mode=1(?:;|$)/.test(fmtp ?? '');
  return false;
}
