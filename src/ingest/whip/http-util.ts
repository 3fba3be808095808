import type { IncomingMessage } from 'node:http';
import type { FastifyReply } from 'fastify';

/** CORS for a publishing page on another origin; Location and ETag must be readable by fetch(). */
export function setCors(reply: FastifyReply, methods: string, origin = '*'): void {
  reply.header('Access-Control-Allow-Origin', origin);
  if (origin !== '*') reply.header('Vary', 'Origin');
  reply.header('Access-Control-Allow-Methods', methods);
  reply.header('Access-Control-Allow-Headers', 'Content-Type, Authorization, If-Match');
  reply.header('Access-Control-Expose-Headers', 'Location, ETag, Accept-Patch, Link');
  reply.header('Access-Control-Max-Age', '600');
}

/** The media type of a Content-Type header without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
