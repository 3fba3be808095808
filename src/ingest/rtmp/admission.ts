/**
 * Admitting an RTMP publisher whose id passed: its token first, then, in cluster mode, its claim
 * on the id across the nodes, while its first media waits in the hold (media-hold.ts). A claim
 * whose publisher is not accepted after all is released, so a refusal never keeps the id taken.
 */
import { describeError } from '../../errors.ts';
import type { StreamClaims } from '../../media/source.ts';
import type { NmsSession } from './nms.ts';

export interface AdmissionSteps {
  /** The token check (RtmpIngestOptions.authorize); a reason refuses. */
  readonly authorize: ((id: string, token: string | undefined) => Promise<string | null>) | undefined;
  readonly claims: StreamClaims | undefined;
  /** What accept() would refuse anyway (already live here, the stream cap), asked before claiming. */
  readonly localRefusal: (id: string) => string | null | undefined;
  readonly isRefused: (s: NmsSession) => boolean;
  readonly refuse: (s: NmsSession, why: string) => void;
  /** Makes the publisher a Source; says whether it did. */
  readonly accept: (s: NmsSession) => boolean;
}

/** The token check, then the cluster claim, then accept (see the file's comment). Never throws. */
export async function admitLater(s: NmsSession, id: string, token: string | undefined, steps: AdmissionSteps): Promise<void> {
  const { authorize, claims } = steps;
  let release: (() => void) | undefined;
  try {
    const refusal = authorize ? await authorize(id, token) : null;
    if (refusal) {
      steps.refuse(s, `publisher of "${id}" rejected: ${refusal}`);
      return;
    }
    if (claims) {
      // What accept() would refuse anyway must not take the id from the whole cluster first.
      const local = steps.localRefusal(id);
      if (local) {
        steps.refuse(s, `publisher of "${id}" rejected: ${local}`);
        return;
      }
      if (steps.isRefused(s)) return;
      const claim = await claims.claim(id, 'rtmp');
      if (claim.refused !== null) {
        steps.refuse(s, `publisher of "${id}" rejected: ${claim.refused}`);
        return;
      }
      release = () => claim.release();
    }
  } catch (err) {
    steps.refuse(s, `publisher of "${id}" rejected: ${describeError(err)}`);
    return;
  }
  if (!steps.accept(s)) release?.();
}
