import { SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../errors.js';
import { issueAccessToken, issueKiteKey } from './issue.js';
import { KeySet } from './keyset.js';
import { keyResolver, verifyAccessToken, verifyKiteKey } from './verify.js';

const issuer = 'http://kloud.test';
const kiteId = 'kite-1';
let keys: KeySet;

beforeAll(async () => {
  keys = await KeySet.generate();
});

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).code).toBe(4001);
    return ((error as RpcError).data as { reason: string }).reason;
  }
  throw new Error('token was accepted');
}

async function signWith(
  claims: Record<string, unknown>,
  set: KeySet = keys,
  header: Record<string, unknown> = {},
) {
  const { kid, key } = await set.signingKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, ...header }).sign(key);
}

const now = () => Math.floor(Date.now() / 1000);

describe('access tokens', () => {
  it('round-trips an access token with its scope', async () => {
    const { token, expiresAt } = await issueAccessToken(keys, {
      issuer,
      user: 'alice',
      kiteId,
      scope: 'readonly',
    });
    const claims = await verifyAccessToken(token, keyResolver(keys), { issuer, kiteId });
    expect(claims).toMatchObject({ sub: 'alice', aud: kiteId, scope: 'readonly', iss: issuer });
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3600_000);
  });

  it('refuses to issue one that lives longer than an hour', async () => {
    await expect(
      issueAccessToken(keys, { issuer, user: 'a', kiteId, scope: 'owner', expiresInSeconds: 3601 }),
    ).rejects.toThrow(/3600/);
  });

  const verifyIt = (token: string | undefined, set: KeySet = keys) =>
    verifyAccessToken(token, keyResolver(set), { issuer, kiteId });
  const base = () => ({
    iss: issuer,
    sub: 'alice',
    aud: kiteId,
    scope: 'owner',
    iat: now(),
    exp: now() + 600,
  });

  it('refuses a missing token', async () => expect(await refusal(verifyIt(undefined))).toBe('missing'));
  it('refuses garbage', async () => expect(await refusal(verifyIt('not.a.jwt'))).toBe('malformed'));
  it('refuses alg none', async () => {
    const token = new UnsecuredJWT(base()).encode();
    expect(await refusal(verifyIt(token))).toBe('alg-not-allowed');
  });
  it('refuses HMAC', async () => {
    const token = await new SignJWT(base())
      .setProtectedHeader({ alg: 'HS256', kid: keys.active()[0]!.kid })
      .sign(new TextEncoder().encode('a-shared-secret-of-sufficient-length!!'));
    expect(await refusal(verifyIt(token))).toBe('alg-not-allowed');
  });
  it('refuses an unknown kid', async () => {
    const other = await KeySet.generate();
    expect(await refusal(verifyIt(await signWith(base(), other)))).toBe('unknown-kid');
  });
  it('refuses a forged signature under a known kid', async () => {
    const other = await KeySet.generate();
    const { key } = await other.signingKey();
    const token = await new SignJWT(base())
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.active()[0]!.kid })
      .sign(key);
    expect(await refusal(verifyIt(token))).toBe('bad-signature');
  });
  it('refuses a tampered payload', async () => {
    const good = await signWith(base());
    const [h, , s] = good.split('.');
    const forged = Buffer.from(JSON.stringify({ ...base(), scope: 'owner', sub: 'mallory' })).toString(
      'base64url',
    );
    expect(await refusal(verifyIt(`${h}.${forged}.${s}`))).toBe('bad-signature');
  });
  it('refuses an expired token', async () => {
    expect(await refusal(verifyIt(await signWith({ ...base(), iat: now() - 700, exp: now() - 60 })))).toBe(
      'expired',
    );
  });
  it('refuses a not-yet-valid token', async () => {
    expect(await refusal(verifyIt(await signWith({ ...base(), nbf: now() + 600 })))).toBe('not-yet-valid');
  });
  it('refuses the wrong audience', async () => {
    expect(await refusal(verifyIt(await signWith({ ...base(), aud: 'kite-2' })))).toBe('wrong-audience');
  });
  it('refuses the wrong issuer', async () => {
    expect(await refusal(verifyIt(await signWith({ ...base(), iss: 'http://evil.test' })))).toBe(
      'wrong-issuer',
    );
  });
  it('refuses an unknown scope and an over-long lifetime', async () => {
    expect(await refusal(verifyIt(await signWith({ ...base(), scope: 'admin' })))).toBe('bad-claims');
    expect(await refusal(verifyIt(await signWith({ ...base(), exp: now() + 7200 })))).toBe('bad-claims');
  });
});

describe('key rotation', () => {
  it('keeps old tokens valid after a rotation until the old key is retired', async () => {
    const set = await KeySet.generate();
    const old = (await issueAccessToken(set, { issuer, user: 'a', kiteId, scope: 'user' })).token;
    const oldKid = set.active()[0]!.kid;
    await set.rotate();
    const fresh = (await issueAccessToken(set, { issuer, user: 'a', kiteId, scope: 'user' })).token;
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).not.toBe(oldKid);
    await verifyAccessToken(old, keyResolver(set), { issuer, kiteId });
    set.retire(oldKid);
    expect(await refusal(verifyAccessToken(old, keyResolver(set), { issuer, kiteId }))).toBe('unknown-kid');
    await verifyAccessToken(fresh, keyResolver(set), { issuer, kiteId });
    expect(set.toJWKS().keys).toHaveLength(1);
    expect(set.toJWKS().keys[0]).not.toHaveProperty('d');
  });

  it('survives a round trip through JSON and refuses to retire its last key', async () => {
    const set = await KeySet.generate();
    const copy = KeySet.fromJSON(JSON.parse(JSON.stringify(set)));
    const token = (await issueAccessToken(copy, { issuer, user: 'a', kiteId, scope: 'owner' })).token;
    await verifyAccessToken(token, keyResolver(set), { issuer, kiteId });
    expect(() => copy.retire(copy.active()[0]!.kid)).toThrow(/only active key/);
    expect(() => KeySet.fromJSON({ keys: [] })).toThrow();
  });
});

describe('kite keys', () => {
  it('identify the machine and its owner', async () => {
    const token = await issueKiteKey(keys, { issuer, owner: 'alice', kiteId });
    expect(await verifyKiteKey(token, keyResolver(keys), issuer)).toMatchObject({
      jti: kiteId,
      sub: 'alice',
      aud: 'kloud',
    });
  });
  it('are not access tokens, and access tokens are not kite keys', async () => {
    const kite = await issueKiteKey(keys, { issuer, owner: 'alice', kiteId });
    expect(await refusal(verifyAccessToken(kite, keyResolver(keys), { issuer, kiteId }))).toBe(
      'wrong-audience',
    );
    const access = (await issueAccessToken(keys, { issuer, user: 'alice', kiteId, scope: 'owner' })).token;
    expect(await refusal(verifyKiteKey(access, keyResolver(keys), issuer))).toBe('wrong-audience');
  });
});
