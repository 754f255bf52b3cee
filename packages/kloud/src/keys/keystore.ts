/**
 * Kloud's signing key set (Ed25519) lives in `<dataDir>/signing-keys.json`, mode 0600: it signs
 * every kite.key and access token, so it survives restarts (machines keep working) and never
 * leaves the data directory. Created on first start; written via a temporary file and a rename.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeySet } from '@kk/protocol/tokens/index.js';

export function keyFile(dataDir: string): string {
  return join(dataDir, 'signing-keys.json');
}

export async function saveKeySet(dataDir: string, keys: KeySet): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = keyFile(dataDir);
  await writeFile(`${file}.tmp`, JSON.stringify(keys.toJSON()), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export async function loadOrCreateKeySet(dataDir: string): Promise<{ keys: KeySet; created: boolean }> {
  let text: string;
  try {
    text = await readFile(keyFile(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const keys = await KeySet.generate();
    await saveKeySet(dataDir, keys);
    return { keys, created: true };
  }
  try {
    return { keys: KeySet.fromJSON(JSON.parse(text)), created: false };
  } catch (err) {
    throw new Error(
      `${keyFile(dataDir)} is not a valid key set (${(err as Error).message}); restore it from a backup`,
    );
  }
}
