/**
 * Signed, expiring access tokens: JWTs (RFC 7519) through `jose`. A token carries its grants in
 * one private claim, `avloc`: `{ publish?: [pattern], subscribe?: [pattern], admin?: true }`.
 * Verification accepts HS256 with the configured secret, or an identity provider's asymmetric
 * keys from a JWKS URL; `alg: none`, other algorithms, a missing or past `exp` are all refused.
 * jose compares HMAC signatures in constant time.
 */
import { SignJWT, createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { AvlocError } from '../errors.ts';
import { PATTERN } from './grants.ts';
import type { Grants } from './grants.ts';

export const CLAIM = 'avloc';
/** Longest token accepted: bounded before any parsing or crypto work is done for it. */
export const MAX_TOKEN_CHARS = 4096;
/** A shared secret must be at least this long (RFC 7518 §3.2: HS256 keys of ≥ 256 bits). */
export const MIN_SECRET_BYTES = 32;
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

const patterns = z.array(z.string().regex(PATTERN, 'a stream id or pattern of A-Z a-z 0-9 _ - *')).max(64);
const claimSchema = z
  .object({ publish: patterns.default([]), subscribe: patterns.default([]), admin: z.boolean().default(false) })
  .strict();

export interface TokenRequest {
  readonly publish?: readonly string[];
  readonly subscribe?: readonly string[];
  readonly admin?: boolean;
  readonly ttlSeconds: number;
  readonly subject?: string;
}

/** Signs a token with the shared secret (what `avloc token` prints). */
export async function signToken(secret: string, req: TokenRequest): Promise<string> {
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new AvlocError('CONFIG_INVALID', `auth.secret must be at least ${MIN_SECRET_BYTES} bytes`);
  if (!(req.ttlSeconds > 0)) throw new AvlocError('CONFIG_INVALID', 'a token needs a positive lifetime (--ttl SECONDS)');
  const claim = claimSchema.parse({ publish: req.publish ?? [], subscribe: req.subscribe ?? [], admin: req.admin ?? false });
  const jwt = new SignJWT({ [CLAIM]: claim })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + Math.ceil(req.ttlSeconds));
  if (req.subject) jwt.setSubject(req.subject);
  return jwt.sign(new TextEncoder().encode(secret));
}

export interface VerifierOptions {
  /** Shared secret for HS256 (≥ 32 bytes). */
  readonly secret?: string;
  /** An identity provider's key set (RS/PS/ES/EdDSA). */
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

export type VerifyToken = (token: string) => Promise<Grants>;

/** A verifier for the configured keys: token → grants, or AvlocError('UNAUTHORIZED'). */
export function createVerifier(opts: VerifierOptions): VerifyToken {
  const secret = opts.secret === undefined ? undefined : new TextEncoder().encode(opts.secret);
  const jwks: JWTVerifyGetKey | undefined = opts.jwksUrl ? createRemoteJWKSet(new URL(opts.jwksUrl)) : undefined;
  const checks = {
    requiredClaims: ['exp'],
    ...(opts.issuer ? { issuer: opts.issuer } : {}),
    ...(opts.audience ? { audience: opts.audience } : {}),
  };
  return async (token) => {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) throw unauthorized(`token must be 1-${MAX_TOKEN_CHARS} characters`);
    let payload: JWTPayload | undefined;
    let lastError: unknown;
    // The header's alg picks the key: HS256 → the secret, asymmetric → the key set.
    if (secret) {
      try {
        payload = (await jwtVerify(token, secret, { ...checks, algorithms: ['HS256'] })).payload;
      } catch (err) {
        lastError = err;
      }
    }
    if (!payload && jwks) {
      try {
        payload = (await jwtVerify(token, jwks, { ...checks, algorithms: ASYMMETRIC })).payload;
      } catch (err) {
        lastError = err;
      }
    }
    if (!payload) throw unauthorized(reason(lastError));
    const claim = claimSchema.safeParse(payload[CLAIM] ?? {});
    if (!claim.success) throw unauthorized(`token's "${CLAIM}" claim is malformed`);
    return { ...claim.data, ...(typeof payload.sub === 'string' ? { subject: payload.sub } : {}) };
  };
}

function unauthorized(why: string): AvlocError {
  return new AvlocError('UNAUTHORIZED', `invalid token: ${why}`);
}

/** jose's error codes, said plainly; nothing of the token is echoed. */
function reason(err: unknown): string {
  const code = (err as { code?: string } | undefined)?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad signature';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not accepted';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return 'a required claim is missing or wrong';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'not a well-formed JWT';
    default:
      return code ? code.toLowerCase().replace(/^err_/, '').replace(/_/g, ' ') : 'not accepted';
  }
}
