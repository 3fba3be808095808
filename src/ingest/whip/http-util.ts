import type { IncomingMessage, ServerResponse } from 'node:http';

/** CORS for a publishing page on another origin; Location and ETag must be readable by fetch(). */
export function setCors(res: ServerResponse, methods: string, origin = '*'): void {
  res.setHeader('Access-Control-Allow-Origin', origin);
  if (origin !== '*') res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Allow-Methods', methods);
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, If-Match');
  res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Accept-Patch, Link');
  res.setHeader('Access-Control-Max-Age', '600');
}

/** The media type of a Content-Type header without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
