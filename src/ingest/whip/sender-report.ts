/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/**
 * Builds a minimal RTCP sender report (RFC 3550 §6.4.1, no report blocks): the packet ffmpeg's RTP
 * demuxer needs to put every stream of one SDP on a common clock (it maps each stream's RTP
 * timestamps through the NTP time of its SR).
 */
export function buildSenderReport(ssrc: number, wallMs: number, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const buf = Buffer.alloc(28);
  buf[0] = 0x80; // V=2, P=0, RC=0
  buf[1] = 200; // PT=SR
  buf.writeUInt16BE(6, 2); // length in 32-bit words minus one
  buf.writeUInt32BE(ssrc >>> 0, 4);
  const seconds = Math.floor(wallMs / 1000);
  const fraction = Math.floor(((wallMs - seconds * 1000) / 1000) * 2 ** 32);
  buf.writeUInt32BE((seconds + NTP_UNIX_OFFSET_S) >>> 0, 8);
  buf.writeUInt32BE(Math.min(fraction, 0xffffffff) >>> 0, 12);
  buf.writeUInt32BE(rtpTimestamp >>> 0, 16);
  buf.writeUInt32BE(packets >>> 0, 20);
  buf.writeUInt32BE(octets >>> 0, 24);
  return buf;
}
