/**
 * What all of the hub's clients want together, previews included: cluster mode reads it to decide
 * which other nodes' streams this node listens to, and whether it asks them for preview JPEGs
 * (src/cluster/listener.ts).
 */
import type { HubInterest } from '../hub-events.ts';
import type { Session } from './session.ts';

export function interestOf(sessions: Iterable<Session>): HubInterest {
  let all = false;
  let allPreview = false;
  const named = new Map<string, boolean>();
  for (const s of sessions) {
    if (s.all) {
      all = true;
      allPreview ||= s.preview;
    } else {
      for (const id of s.named) named.set(id, (named.get(id) ?? false) || s.preview);
    }
  }
  return { all, allPreview, named };
}
