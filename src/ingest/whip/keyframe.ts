/**
 * Tells whether an RTP payload starts a decodable keyframe, so PLI requests can stop once ffmpeg
 * has something to start from. Only the codecs the offer filter lets through are known.
 */
export function isKeyframe(codec: string, payload: Uint8Array): boolean {
  const name = codec.toLowerCase();
  if (name === 'vp8') return isVp8Keyframe(payload);
  if (name === 'h264') return isH264Keyframe(payload);
  return false;
}

/** RFC 7741: payload descriptor, then (on a partition start) the VP8 frame header whose P bit is 0 on keyframes. */
function isVp8Keyframe(p: Uint8Array): boolean {
  if (p.length < 1) return false;
  const b0 = p[0]!;
  const start = (b0 & 0x10) !== 0;
  const partitionId = b0 & 0x0f;
  if (!start || partitionId !== 0) return false;
  let i = 1;
  if ((b0 & 0x80) !== 0) {
    const ext = p[i++];
    if (ext === undefined) return false;
    if ((ext & 0x80) !== 0) i += (p[i] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if ((ext & 0x40) !== 0) i += 1; // TL0PICIDX
    if ((ext & 0x30) !== 0) i += 1; // TID/KEYIDX
  }
  const header = p[i];
  return header !== undefined && (header & 0x01) === 0;
}

/** RFC 6184 packetization-mode 1: an IDR or SPS NAL alone, in a STAP-A, or starting a FU-A. */
function isH264Keyframe(p: Uint8Array): boolean {
  const b0 = p[0];
  if (b0 === undefined) return false;
  const type = b0 & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    let i = 1;
    while (i + 2 < p.length) {
      const size = (p[i]! << 8) | p[i + 1]!;
      const nal = p[i + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    const fu = p[1];
    return fu !== undefined && (fu & 0x80) !== 0 && (fu & 0x1f) === 5;
  }
  return false;
}
