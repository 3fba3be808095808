import { AvlocError } from '../errors.ts';

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * An anonymous service (no secret, no key set) is a hijackable camera relay for anyone who can
 * reach it, so it listens on loopback unless `auth.allowAnonymous` says that is meant.
 */
export function checkExposure(listeners: Readonly<Record<string, string>>, authEnabled: boolean, allowAnonymous: boolean): void {
  if (authEnabled || allowAnonymous) return;
  const open = Object.entries(listeners).filter(([, host]) => !isLoopback(host));
  if (open.length === 0) return;
  throw new AvlocError(
    'CONFIG_INVALID',
    `${open.map(([name, host]) => `${name} listens on ${host}`).join(' and ')} with no auth: set auth.secret ` +
      '(AVLOC_AUTH_SECRET, at least 32 bytes) so every door needs a token, or pass --allow-anonymous ' +
      '(auth.allowAnonymous) to serve anyone who can reach it',
  );
}
