/**
 * The AES-256 keys that seal credential secrets. The current key seals; every key in the ring
 * opens what it sealed. A key's id is derived from the key (sha256 prefix), so the same key
 * always has the same id whether it comes from the file or the environment.
 *
 * File keyring: `<dataDir>/credential-keys.json`, mode 0600, created on first start, replaced
 * atomically (write temp, fsync, rename) so a crash leaves the old file or the new one whole.
 * Environment keyring: KK_CREDENTIAL_KEY (+ KK_CREDENTIAL_OLD_KEYS while rotating); never written.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { BackendError } from '../errors.js';

export interface Keyring {
  readonly source: 'file' | 'env';
  readonly currentId: string;
  key(id: string): Buffer | undefined;
  ids(): string[];
  /** File keyrings only: make a new key current, keeping the old ones for reading. */
  addKey?(): string;
  /** File keyrings only: forget keys that no longer seal anything. */
  retain?(ids: Set<string>): void;
}

export const KEY_FILE = 'credential-keys.json';

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

interface KeyFile {
  current: string;
  keys: Record<string, string>;
}

function writeKeyFile(path: string, content: KeyFile): void {
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(content, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

function readKeyFile(path: string): KeyFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as KeyFile;
  if (typeof parsed.current !== 'string' || !parsed.keys?.[parsed.current]) {
    throw new BackendError('unavailable', `${path}: no current key; restore the file from a backup`);
  }
  return parsed;
}

class MapKeyring implements Keyring {
  constructor(
    readonly source: 'file' | 'env',
    protected keys: Map<string, Buffer>,
    public currentId: string,
  ) {}
  key(id: string): Buffer | undefined {
    return this.keys.get(id);
  }
  ids(): string[] {
    return [...this.keys.keys()];
  }
}

class FileKeyring extends MapKeyring {
  constructor(
    private readonly path: string,
    file: KeyFile,
  ) {
    super(
      'file',
      new Map(Object.entries(file.keys).map(([id, k]) => [id, Buffer.from(k, 'base64')])),
      file.current,
    );
  }

  private save(): void {
    const keys = Object.fromEntries([...this.keys].map(([id, k]) => [id, k.toString('base64')]));
    writeKeyFile(this.path, { current: this.currentId, keys });
  }

  addKey(): string {
    const key = randomBytes(32);
    const id = keyId(key);
    this.keys.set(id, key);
    this.currentId = id;
    this.save();
    return id;
  }

  retain(ids: Set<string>): void {
    ids.add(this.currentId);
    for (const id of [...this.keys.keys()]) if (!ids.has(id)) this.keys.delete(id);
    this.save();
  }
}

/** The key file in `dataDir`, created (mode 0600) with a fresh key when missing. */
export function fileKeyring(dataDir: string): Keyring {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, KEY_FILE);
  let file = readKeyFile(path);
  if (!file) {
    const key = randomBytes(32);
    file = { current: keyId(key), keys: { [keyId(key)]: key.toString('base64') } };
    writeKeyFile(path, file);
  }
  return new FileKeyring(path, file);
}

/** Keys given by the environment: `current` seals, `old` only open. Values are base64 of 32 bytes. */
export function envKeyring(current: string, old: string[] = []): Keyring {
  const keys = new Map<string, Buffer>();
  for (const k of [...old, current]) keys.set(keyId(Buffer.from(k, 'base64')), Buffer.from(k, 'base64'));
  return new MapKeyring('env', keys, keyId(Buffer.from(current, 'base64')));
}

/** The keyring a config asks for: the environment's key when given, else the data directory's file. */
export function openKeyring(config: {
  dataDir: string;
  credentialKey?: string;
  credentialOldKeys?: string[];
}): Keyring {
  return config.credentialKey
    ? envKeyring(config.credentialKey, config.credentialOldKeys ?? [])
    : fileKeyring(config.dataDir);
}
