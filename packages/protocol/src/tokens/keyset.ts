import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

/** One Ed25519 key of the set; `retiredAt` set means it no longer verifies. */
export interface StoredKey {
  kid: string;
  createdAt: number;
  retiredAt?: number;
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface Jwks {
  keys: JWK[];
}

type Key = CryptoKey;

/**
 * Kloud's signing keys. The newest active key signs; every active key verifies, so tokens issued
 * before a rotation stay valid until their key is retired. Serialises to JSON for the data dir
 * (the caller writes it with mode 0600: it holds private keys).
 */
export class KeySet {
  private constructor(private readonly keys: StoredKey[]) {}

  static async generate(): Promise<KeySet> {
    const set = new KeySet([]);
    await set.rotate();
    return set;
  }

  static fromJSON(value: unknown): KeySet {
    const keys = (value as { keys?: unknown })?.keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new Error('key set JSON has no keys');
    for (const key of keys as StoredKey[]) {
      if (
        typeof key.kid !== 'string' ||
        key.privateJwk?.crv !== 'Ed25519' ||
        key.publicJwk?.crv !== 'Ed25519'
      ) {
        throw new Error('key set JSON holds a key that is not an Ed25519 key with a kid');
      }
    }
    return new KeySet(keys as StoredKey[]);
  }

  toJSON(): { keys: StoredKey[] } {
    return { keys: this.keys };
  }

  /** Adds a new key that signs from now on; the previous keys keep verifying. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const createdAt = Date.now();
    const kid = `k${createdAt.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const meta = { kid, alg: 'EdDSA', use: 'sig' };
    this.keys.push({
      kid,
      createdAt,
      privateJwk: { ...(await exportJWK(privateKey)), ...meta },
      publicJwk: { ...(await exportJWK(publicKey)), ...meta },
    });
    return kid;
  }

  /** Stops a key from verifying; refuses to retire the last active key. */
  retire(kid: string): void {
    const key = this.keys.find((k) => k.kid === kid && k.retiredAt === undefined);
    if (!key) throw new Error(`no active key ${kid}`);
    if (this.active().length === 1) throw new Error('cannot retire the only active key; rotate first');
    key.retiredAt = Date.now();
  }

  active(): StoredKey[] {
    return this.keys.filter((k) => k.retiredAt === undefined);
  }

  /** The key that signs: the newest active one. */
  async signingKey(): Promise<{ kid: string; key: Key }> {
    const newest = this.active().at(-1);
    if (!newest) throw new Error('key set has no active key');
    return { kid: newest.kid, key: (await importJWK(newest.privateJwk, 'EdDSA')) as Key };
  }

  /** The public keys that verify, as served at `/.well-known/jwks.json`. */
  toJWKS(): Jwks {
    return { keys: this.active().map((k) => k.publicJwk) };
  }
}
