import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvlocError } from '../../src/errors.ts';
import { isKeyframe } from '../../src/ingest/whip/keyframe.ts';
import { filterOffer } from '../../src/ingest/whip/offer-filter.ts';
import { buildRtpSdp } from '../../src/ingest/whip/rtp-sdp.ts';
import { buildSenderReport } from '../../src/ingest/whip/sender-report.ts';

const chromeLikeOffer = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdef012345', 'a=fingerprint:sha-256 AB:CD',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly',
  'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:0 PCMU/8000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 98', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendonly',
  'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000', 'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 H264/90000', 'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
  'a=rtpmap:98 VP9/90000',
].join('\r\n');

test('filterOffer keeps Opus, VP8 and H.264 packetization-mode=1 and drops the rest', () => {
  const { sdp, kinds } = filterOffer(chromeLikeOffer);
  assert.deepEqual(kinds, ['audio', 'video']);
  assert.match(sdp, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r$/m);
  assert.match(sdp, /^m=video 9 UDP\/TLS\/RTP\/SAVPF 96 102\r$/m);
  assert.doesNotMatch(sdp, /a=rtpmap:(0|97|103|98) /);
  assert.doesNotMatch(sdp, /a=fmtp:(97|103) /);
  assert.match(sdp, /a=fmtp:111 minptime=10/);
  assert.match(sdp, /a=mid:1/);
});

test('filterOffer refuses SDP that is not SDP, or has no audio/video, with PROTOCOL_INVALID', () => {
  const invalid = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof AvlocError && e.code === 'PROTOCOL_INVALID' && re.test(e.message));
  invalid(() => filterOffer('hello'), /must start with "v=0"/);
  invalid(() => filterOffer('v=0\r\nthis is not sdp\r\n'), /bad line/);
  invalid(() => filterOffer('v=0\r\ns=-\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n'), /neither an audio nor a video/);
  invalid(() => filterOffer('v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n'), /no a=ice-ufrag/);
  invalid(() => filterOffer(chromeLikeOffer.replace(/a=fingerprint:.*\r\n/, '')), /no a=fingerprint/);
  invalid(() => filterOffer(chromeLikeOffer.replace(/m=video[\s\S]*$/, 'm=video 9 RTP/AVP 98\r\na=rtpmap:98 VP9/90000')), /no supported video codec.*VP9/);
});

test('isKeyframe reads VP8 payload descriptors and H.264 NAL types', () => {
  // VP8: X=1,S=1,PID=0; I=1 with 15-bit picture id; frame header P bit 0 = keyframe.
  assert.equal(isKeyframe('VP8', Uint8Array.from([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00])), true);
  assert.equal(isKeyframe('VP8', Uint8Array.from([0x90, 0x80, 0x81, 0x23, 0x11, 0x02, 0x00])), false);
  assert.equal(isKeyframe('VP8', Uint8Array.from([0x10, 0x50])), true); // no extensions
  assert.equal(isKeyframe('VP8', Uint8Array.from([0x00, 0x50])), false); // not a partition start
  assert.equal(isKeyframe('H264', Uint8Array.from([0x65, 0x88])), true); // IDR
  assert.equal(isKeyframe('H264', Uint8Array.from([0x41, 0x9a])), false); // non-IDR slice
  assert.equal(isKeyframe('H264', Uint8Array.from([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce])), true); // STAP-A with SPS
  assert.equal(isKeyframe('H264', Uint8Array.from([0x7c, 0x85, 0x00])), true); // FU-A start of an IDR
  assert.equal(isKeyframe('H264', Uint8Array.from([0x7c, 0x05, 0x00])), false); // FU-A continuation
  assert.equal(isKeyframe('opus', Uint8Array.from([0x00])), false);
});

test('buildSenderReport encodes an RTCP SR with NTP time and RTP timestamp', () => {
  const sr = buildSenderReport(0xdeadbeef, 1_700_000_000_500, 0xfffffff0, 7, 700);
  assert.equal(sr.length, 28);
  assert.equal(sr[0], 0x80);
  assert.equal(sr[1], 200);
  assert.equal(sr.readUInt16BE(2), 6);
  assert.equal(sr.readUInt32BE(4), 0xdeadbeef);
  assert.equal(sr.readUInt32BE(8), 1_700_000_000 + 2_208_988_800);
  assert.equal(sr.readUInt32BE(12), 2 ** 31); // half a second
  assert.equal(sr.readUInt32BE(16), 0xfffffff0);
  assert.equal(sr.readUInt32BE(20), 7);
  assert.equal(sr.readUInt32BE(24), 700);
});

test('buildRtpSdp describes each forwarded stream for ffmpeg, with H.264 fmtp', () => {
  const sdp = buildRtpSdp('cam1', [
    { kind: 'video', port: 5000, payloadType: 102, codec: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=42e01f' },
    { kind: 'audio', port: 5002, payloadType: 111, codec: 'opus', clockRate: 48000, channels: 2 },
  ]);
  assert.match(sdp, /^c=IN IP4 127\.0\.0\.1$/m);
  assert.match(sdp, /^m=video 5000 RTP\/AVP 102\na=rtpmap:102 H264\/90000\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f$/m);
  assert.match(sdp, /^m=audio 5002 RTP\/AVP 111\na=rtpmap:111 opus\/48000\/2$/m);
});
