/**
 * What the cluster stores in Redis, with a parser for each that refuses anything malformed (a
 * value written by a newer or broken node reads as absent rather than as garbage).
 */
import { z } from 'zod';
import { StreamKind, StreamSummary } from '../wire/protocol.ts';
import type { SourceKind } from '../media/source.ts';

/** The value of a claim key: who runs the stream, under which claim, since when. */
export const ClaimRecord = z.object({
  v: z.literal(1),
  node: z.string().min(1),
  /** Random per claim: a node's later claim of the same id is a different value. */
  claim: z.string().min(1),
  kind: StreamKind,
  sinceMs: z.number().finite(),
});
export type ClaimRecord = z.infer<typeof ClaimRecord>;

/** The value of a node key. */
export const NodeRecord = z.object({ v: z.literal(1), node: z.string().min(1), startedAtMs: z.number().finite() });
export type NodeRecord = z.infer<typeof NodeRecord>;

export function claimValue(node: string, claim: string, kind: SourceKind, sinceMs: number): string {
  const r: ClaimRecord = { v: 1, node, claim, kind, sinceMs };
  return JSON.stringify(r);
}

function parseWith<T>(schema: z.ZodType<T>, text: string | null | undefined): T | null {
  if (!text) return null;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export const parseClaim = (text: string | null | undefined): ClaimRecord | null => parseWith(ClaimRecord, text);
export const parseNode = (text: string | null | undefined): NodeRecord | null => parseWith(NodeRecord, text);
export const parseSummary = (text: string | null | undefined): StreamSummary | null => parseWith(StreamSummary, text);
