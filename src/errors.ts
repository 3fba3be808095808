/**
 * The one error family of the service. Every error that crosses a module edge is an AvlocError
 * with a stable `code` (what clients and logs match on) and an optional `cause`. ERRORS is the
 * catalog: each code once, with the HTTP status it answers with and what it means (fastify's
 * lib/errors.js habit); docs/PROTOCOL.md lists the same table.
 */
export const ERRORS = {
  CONFIG_INVALID: { status: 400, meaning: 'a configuration value, flag or command argument is wrong' },
  PROTOCOL_INVALID: { status: 400, meaning: 'a malformed request or message (WebSocket, WHIP offer, URL)' },
  UNAUTHORIZED: { status: 401, meaning: 'auth is on and the token is missing, malformed, expired or not signed by a trusted key' },
  FORBIDDEN: { status: 403, meaning: 'the token (or the page origin) does not grant this' },
  NOT_FOUND: { status: 404, meaning: 'no such route, file or WHIP resource' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'the route exists, the method does not' },
  STREAM_EXISTS: { status: 409, meaning: 'the stream id is already being published' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'a request body over its limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'a request body of the wrong Content-Type' },
  RATE_LIMITED: { status: 429, meaning: 'too many requests from this address (http.rateLimit); try again after Retry-After seconds' },
  AT_CAPACITY: { status: 503, meaning: 'the service is at a limit (live streams, publishers); try again later' },
  CLOSED: { status: 503, meaning: 'the service or the peer is closing or closed, or could not be reached' },
  MODEL_INVALID: { status: 500, meaning: 'the model bundle does not match its card or cannot be loaded' },
  MODEL_DEVICE_UNAVAILABLE: { status: 500, meaning: 'the asked execution provider (CUDA) is not available' },
  INFERENCE_TIMEOUT: { status: 504, meaning: 'a remote inference request missed its deadline and was dropped' },
  INFERENCE_REMOTE_FAILED: { status: 502, meaning: 'the remote inference server could not be reached, is not ready, or answered with an error or a response that does not fit the card' },
  FFMPEG_NOT_FOUND: { status: 500, meaning: 'no usable ffmpeg binary' },
  FFMPEG_START_TIMEOUT: { status: 500, meaning: 'ffmpeg opened no input in time' },
  FFMPEG_EXITED: { status: 500, meaning: 'ffmpeg ended unexpectedly' },
  DECODE_FAILED: { status: 500, meaning: 'the input could not be decoded' },
  STREAM_NO_VIDEO: { status: 422, meaning: 'the input has no video' },
  STREAM_NO_AUDIO: { status: 422, meaning: 'the input has no audio (analyzed with silence)' },
  INTERNAL: { status: 500, meaning: 'a bug: reported in the log with its cause' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The HTTP status an error answers with (500 for anything that is not an AvlocError). */
export function httpStatus(err: unknown): number {
  return err instanceof AvlocError ? ERRORS[err.code].status : 500;
}

export class AvlocError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AvlocError';
    this.code = code;
  }
}

/** A short, one-line description of any thrown value, for logs and socket messages. */
export function describeError(err: unknown): string {
  if (err instanceof AvlocError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
