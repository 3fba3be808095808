/**
 * Text frames: JSON control messages both ways, and JSON heatmaps from the server. Parsing checks
 * them against the schemas of messages.ts, so what passes is typed and nothing else gets in.
 */
import { ClientMessage, ServerTextMessage } from './messages.ts';
import type { ControlMessage } from './messages.ts';
import { invalid, zodIssue } from './protocol-error.ts';

/** Parses a client's text frame; throws AvlocError('PROTOCOL_INVALID') with a readable reason. */
export function parseClientMessage(text: string): ClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid('message is not valid JSON', err);
  }
  const r = ClientMessage.safeParse(raw);
  if (!r.success) throw invalid(`bad client message: ${zodIssue(r.error)}`, r.error);
  return r.data;
}

/** Parses a server's text frame (control message or JSON heatmap). */
export function parseServerText(text: string): ServerTextMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid('message is not valid JSON', err);
  }
  const r = ServerTextMessage.safeParse(raw);
  if (!r.success) throw invalid(`bad server message: ${zodIssue(r.error)}`, r.error);
  return r.data;
}

export function encodeControl(msg: ControlMessage): string {
  return JSON.stringify(msg);
}
