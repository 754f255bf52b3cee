/**
 * The kite.key a Klient registers with: read from its file and decoded (not verified — Klient
 * does not hold Kloud's private key; Kloud verifies it at every connection). Klient takes its
 * kite id (`jti`) and Kloud's URL (`iss`) from it, so the key alone configures `klient run`.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { decodeJwt } from 'jose';
import { ConfigError } from '../config.js';

export interface KiteKey {
  token: string;
  kiteId: string;
  issuer: string;
  owner: string;
}

export async function readKiteKey(file: string, setting: string): Promise<KiteKey> {
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(
      setting,
      `cannot read the kite.key at ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new ConfigError(setting, `${file} is not a kite.key (a JWT issued by Kloud)`);
  }
  if (typeof claims.jti !== 'string' || typeof claims.iss !== 'string' || typeof claims.sub !== 'string') {
    throw new ConfigError(setting, `${file} lacks jti/iss/sub: not a kite.key issued by Kloud`);
  }
  return { token, kiteId: claims.jti, issuer: claims.iss, owner: claims.sub };
}

/**
 * Replaces the kite.key file with a fresh key from Kloud (after a signing key rotation). The
 * new key must name the same machine: Kloud cannot move a Klient to another identity this way.
 * Written to a temporary file (0600) and renamed, so a crash leaves the old key or the new one.
 */
export async function replaceKiteKey(file: string, current: KiteKey, token: string): Promise<KiteKey> {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new Error('the new kite.key is not a JWT');
  }
  if (claims.jti !== current.kiteId || claims.iss !== current.issuer)
    throw new Error('the new kite.key names another machine or issuer; kept the current one');
  const tmp = `${file}.new`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return { ...current, token };
}
