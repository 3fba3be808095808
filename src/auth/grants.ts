/**
 * What a token lets its holder do: publish to some stream ids, subscribe to some, administer.
 * Stream ids are granted by pattern: an exact id, or `*` standing for any run of id characters
 * (`cam-*`, `*`). Admin covers the REST API and /metrics and sees every stream.
 */
export type Action = 'publish' | 'subscribe' | 'admin';

export interface Grants {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  readonly admin: boolean;
  /** Who the token names (`sub`), for logs; never the token itself. */
  readonly subject?: string;
}

/** Everything: what every caller gets when the service runs without a secret. */
export const FULL_ACCESS: Grants = Object.freeze({ publish: ['*'], subscribe: ['*'], admin: true, subject: 'anonymous' });

/** A stream-id pattern: id characters and `*`, at most 64 of them. */
export const PATTERN = /^[A-Za-z0-9_*-]{1,64}$/;

export function matchesPattern(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  // Patterns are validated (PATTERN), so the only regex metacharacter in them is `*` (and `-`, literal outside []).
  return new RegExp(`^${pattern.split('*').join('[A-Za-z0-9_-]*')}$`).test(id);
}

export function mayPublish(g: Grants, id: string): boolean {
  return g.publish.some((p) => matchesPattern(p, id));
}

export function maySubscribe(g: Grants, id: string): boolean {
  return g.admin || g.subscribe.some((p) => matchesPattern(p, id));
}
