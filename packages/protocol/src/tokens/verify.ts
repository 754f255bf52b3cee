import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as jose,
  jwtVerify,
} from 'jose';
import type { Scope } from '../catalogue/define.js';
import { RpcError } from '../errors.js';
import {
  type AccessTokenClaims,
  KITE_KEY_AUDIENCE,
  type KiteKeyClaims,
  MAX_ACCESS_TOKEN_SECONDS,
} from './claims.js';
import type { Jwks, KeySet } from './keyset.js';

/** Why a token was refused; each case has its own reason so logs and callers can tell them apart. */
export type TokenRefusal =
  | 'missing'
  | 'malformed'
  | 'alg-not-allowed'
  | 'unknown-kid'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'bad-claims';

export function tokenError(reason: TokenRefusal, message: string): RpcError {
  return new RpcError(4001, message, { reason });
}

/** Where verification keys come from: Kloud's own key set, a JWKS document, or a JWKS URL. */
export type KeySource = KeySet | Jwks | URL;

export function keyResolver(source: KeySource): JWTVerifyGetKey {
  if (source instanceof URL)
    return createRemoteJWKSet(source, { cooldownDuration: 5_000, cacheMaxAge: 600_000 });
  if ('toJWKS' in source) {
    // Read the set on every call so rotation and retirement take effect at once.
    return (header, token) => createLocalJWKSet(source.toJWKS())(header, token);
  }
  return createLocalJWKSet(source);
}

const scopes: readonly Scope[] = ['owner', 'user', 'readonly'];

async function verify(
  token: string | undefined,
  getKey: JWTVerifyGetKey,
  expected: { issuer: string; audience: string },
): Promise<JWTPayload> {
  if (!token) throw tokenError('missing', 'no token: send Authorization: Bearer <token> or ?token=<token>');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw tokenError('malformed', 'token is not a JWT (three base64url parts with a JSON header)');
  }
  if (alg !== 'EdDSA')
    throw tokenError('alg-not-allowed', `token algorithm ${String(alg)} is not accepted; only EdDSA is`);
  try {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: ['EdDSA'],
      issuer: expected.issuer,
      audience: expected.audience,
      clockTolerance: 5,
    });
    return payload;
  } catch (error) {
    throw mapJoseError(error);
  }
}

function mapJoseError(error: unknown): RpcError {
  if (error instanceof jose.JWTExpired) return tokenError('expired', 'token has expired; get a fresh one');
  if (error instanceof jose.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat')
      return tokenError('not-yet-valid', 'token is not valid yet (nbf/iat in the future)');
    if (error.claim === 'aud') return tokenError('wrong-audience', 'token was issued for another audience');
    if (error.claim === 'iss') return tokenError('wrong-issuer', 'token was issued by another issuer');
    return tokenError('bad-claims', `token claim ${error.claim} is invalid: ${error.reason}`);
  }
  if (error instanceof jose.JWKSNoMatchingKey)
    return tokenError('unknown-kid', 'token was signed with an unknown or retired key');
  if (error instanceof jose.JOSEAlgNotAllowed)
    return tokenError('alg-not-allowed', 'token algorithm is not accepted; only EdDSA is');
  if (error instanceof jose.JWSSignatureVerificationFailed)
    return tokenError('bad-signature', 'token signature does not verify');
  if (error instanceof jose.JWKSTimeout || error instanceof jose.JOSEError === false) {
    return new RpcError(4503, 'cannot check the token now: the key set is unreachable');
  }
  return tokenError('malformed', 'token is malformed');
}

export async function verifyKiteKey(
  token: string | undefined,
  keys: JWTVerifyGetKey,
  issuer: string,
): Promise<KiteKeyClaims> {
  const payload = await verify(token, keys, { issuer, audience: KITE_KEY_AUDIENCE });
  if (typeof payload.jti !== 'string' || typeof payload.sub !== 'string') {
    throw tokenError('bad-claims', 'kite.key must carry jti (the machine kite id) and sub (the owner)');
  }
  return payload as unknown as KiteKeyClaims;
}

export async function verifyAccessToken(
  token: string | undefined,
  keys: JWTVerifyGetKey,
  expected: { issuer: string; kiteId: string },
): Promise<AccessTokenClaims> {
  const payload = await verify(token, keys, { issuer: expected.issuer, audience: expected.kiteId });
  const scope = payload.scope;
  if (typeof payload.sub !== 'string' || typeof scope !== 'string' || !scopes.includes(scope as Scope)) {
    throw tokenError('bad-claims', 'access token must carry sub and a scope of owner, user or readonly');
  }
  if (
    typeof payload.exp !== 'number' ||
    typeof payload.iat !== 'number' ||
    payload.exp - payload.iat > MAX_ACCESS_TOKEN_SECONDS
  ) {
    throw tokenError('bad-claims', `access token must expire within ${MAX_ACCESS_TOKEN_SECONDS} s of issue`);
  }
  return payload as unknown as AccessTokenClaims;
}
