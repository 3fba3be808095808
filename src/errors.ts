/**
 * The one error family of the service. Every error that crosses a module edge is an
 * AvlocError with a stable `code` (what clients and logs match on) and an optional `cause`.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MODEL_INVALID'
  | 'MODEL_DEVICE_UNAVAILABLE'
  | 'FFMPEG_NOT_FOUND'
  | 'FFMPEG_START_TIMEOUT'
  | 'FFMPEG_EXITED'
  | 'DECODE_FAILED'
  | 'STREAM_NO_VIDEO'
  | 'STREAM_NO_AUDIO'
  | 'STREAM_NOT_FOUND'
  | 'STREAM_EXISTS'
  | 'PROTOCOL_INVALID'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CLOSED'
  | 'INTERNAL';

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
