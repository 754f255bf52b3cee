import { SignJWT } from 'jose';
import type { Scope } from '../catalogue/define.js';
import { KITE_KEY_AUDIENCE, MAX_ACCESS_TOKEN_SECONDS } from './claims.js';
import type { KeySet } from './keyset.js';

const scopes: readonly Scope[] = ['owner', 'user', 'readonly'];

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Issues the kite.key a machine's Klient registers with. It identifies the machine (`jti`). */
export async function issueKiteKey(
  keys: KeySet,
  input: { issuer: string; owner: string; kiteId: string; expiresInSeconds?: number },
): Promise<string> {
  const { kid, key } = await keys.signingKey();
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
    .setIssuer(input.issuer)
    .setSubject(input.owner)
    .setJti(input.kiteId)
    .setAudience(KITE_KEY_AUDIENCE)
    .setIssuedAt();
  if (input.expiresInSeconds !== undefined) jwt.setExpirationTime(`${input.expiresInSeconds}s`);
  return jwt.sign(key);
}

/** Issues a short-lived token for `user` to use machine `kiteId` with `scope` (at most one hour). */
export async function issueAccessToken(
  keys: KeySet,
  input: { issuer: string; user: string; kiteId: string; scope: Scope; expiresInSeconds?: number },
): Promise<{ token: string; expiresAt: number }> {
  if (!scopes.includes(input.scope)) throw new RangeError(`scope must be one of ${scopes.join(', ')}`);
  const seconds = input.expiresInSeconds ?? MAX_ACCESS_TOKEN_SECONDS;
  if (!(seconds > 0 && seconds <= MAX_ACCESS_TOKEN_SECONDS)) {
    throw new RangeError(`an access token lives between 1 and ${MAX_ACCESS_TOKEN_SECONDS} seconds`);
  }
  const { kid, key } = await keys.signingKey();
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ scope: input.scope })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
    .setIssuer(input.issuer)
    .setSubject(input.user)
    .setAudience(input.kiteId)
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .setJti(randomId())
    .sign(key);
  return { token, expiresAt: (now + seconds) * 1000 };
}
