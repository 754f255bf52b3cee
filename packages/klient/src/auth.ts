import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Principal } from '@kk/protocol/principal.js';
import { type Jwks, keyResolver, verifyAccessToken } from '@kk/protocol/tokens/index.js';
import type { JWK } from 'jose';
import { ConfigError, type KlientConfig, settings } from './config.js';

export type Authenticate = (token: string | undefined, req: IncomingMessage) => Promise<Principal>;

/** A JWK or JWKS file → JWKS of Ed25519 public keys; anything else is refused at start. */
async function readPublicKeys(file: string): Promise<Jwks> {
  const setting = `--${settings.publicKeyFile.flag} (${settings.publicKeyFile.env})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(setting, `cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const keys: JWK[] = Array.isArray((parsed as Jwks)?.keys) ? (parsed as Jwks).keys : [parsed as JWK];
  if (keys.length === 0) throw new ConfigError(setting, `${file} holds no keys`);
  for (const key of keys) {
    if (key?.kty !== 'OKP' || key.crv !== 'Ed25519' || typeof key.x !== 'string') {
      throw new ConfigError(
        setting,
        `${file}: every key must be an Ed25519 public JWK (kty OKP, crv Ed25519)`,
      );
    }
    if ('d' in key)
      throw new ConfigError(setting, `${file} holds a private key; give Klient only the public part`);
  }
  return { keys };
}

/**
 * The upgrade check: a Kloud-issued EdDSA access token for this machine (aud = kite id) from the
 * configured issuer, within its lifetime. The principal carries the token's scope, which the
 * protocol's peer checks against each method's access before the handler runs.
 */
export async function createAuthenticator(config: KlientConfig): Promise<Authenticate> {
  const source = config.jwksUrl ? new URL(config.jwksUrl) : await readPublicKeys(config.publicKeyFile!);
  const keys = keyResolver(source);
  const expected = { issuer: config.issuer, kiteId: config.kiteId };
  return async (token) => {
    const claims = await verifyAccessToken(token, keys, expected);
    return { sub: claims.sub, scope: claims.scope, expiresAt: claims.exp * 1000, tokenId: claims.jti };
  };
}
