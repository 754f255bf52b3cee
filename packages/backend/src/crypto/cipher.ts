/**
 * AES-256-GCM sealing of credential secrets. The credential's id is the additional authenticated
 * data, so a sealed value copied onto another credential's row fails to open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BackendError } from '../errors.js';
import type { Keyring } from './keyring.js';

export interface Sealed {
  keyId: string;
  /** base64(iv(12) ‖ tag(16) ‖ ciphertext) */
  sealed: string;
}

export function seal(keyring: Keyring, plaintext: string, aad: string): Sealed {
  const key = keyring.key(keyring.currentId)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    keyId: keyring.currentId,
    sealed: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
  };
}

export function open(keyring: Keyring, value: Sealed, aad: string): string {
  const key = keyring.key(value.keyId);
  if (!key) {
    throw new BackendError(
      'unavailable',
      `credential sealed with key ${value.keyId}, which this keyring does not hold; restore the key file or KK_CREDENTIAL_OLD_KEYS`,
    );
  }
  const raw = Buffer.from(value.sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new BackendError('unavailable', `credential ${aad} failed authentication with key ${value.keyId}`);
  }
}
