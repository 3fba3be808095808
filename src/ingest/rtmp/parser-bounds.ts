/**
 * Bounds on what a peer may make NMS's RTMP parser allocate, put in before NMS allocates for it.
 * A violation throws inside NMS's parse, which the guarded 'data' listener (connection-guard.ts)
 * turns into closing that one connection, counted in badConnections; nothing else is affected.
 */
import type { NmsSession } from './nms.ts';

/**
 * What a peer may make the parser allocate. A chunk header of a dozen bytes announces a message of
 * up to 16 MiB, which NMS allocates at once, per chunk stream: a few KB of headers could reserve
 * gigabytes. Until a connection is an accepted publisher its messages are commands (connect,
 * publish, play: well under 64 KiB); a publisher's video messages are frames (a 4K keyframe is a
 * few MB).
 */
export const RTMP_LIMITS = { chunkStreams: 64, messageBytesBeforePublish: 64 * 1024, messageBytes: 8 * 1024 * 1024 } as const;

/** Caps the session's chunk streams and announced message sizes; `publishing` lifts the size cap to a frame's. */
export function boundParser(session: NmsSession, publishing: () => boolean): void {
  const parser = session.rtmp;
  if (!parser) return;
  const parse = parser.packetParse.bind(parser);
  const alloc = parser.packetAlloc.bind(parser);
  parser.packetParse = (): void => {
    parse();
    if (parser.inPackets.size > RTMP_LIMITS.chunkStreams) throw new Error(`more than ${RTMP_LIMITS.chunkStreams} RTMP chunk streams`);
  };
  parser.packetAlloc = (): void => {
    const announced = parser.parserPacket.header.length;
    const limit = publishing() ? RTMP_LIMITS.messageBytes : RTMP_LIMITS.messageBytesBeforePublish;
    if (announced > limit) throw new Error(`RTMP message of ${announced} bytes announced (limit ${limit})`);
    alloc();
  };
}
