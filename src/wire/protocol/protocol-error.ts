/**
 * How every parser and codec of the protocol fails: one AvlocError code, PROTOCOL_INVALID, with a
 * reason a person can read (for a zod failure, the path and message of its first issue), so a
 * client's mistake is answered the same way whichever check caught it.
 */
import type { z } from 'zod';
import { AvlocError } from '../../errors.ts';

export function invalid(message: string, cause?: unknown): AvlocError {
  return new AvlocError('PROTOCOL_INVALID', message, cause === undefined ? undefined : { cause });
}

export function zodIssue(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid message';
}
