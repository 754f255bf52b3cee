import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type Checksum, runningChecksum } from '@kk/protocol/node/checksum.js';

/**
 * The content hash used for `ifMatch`: lowercase hex SHA-256 of the whole file. A content hash,
 * not mtime+size, because two writes in the same second with the same length must still differ.
 */
export function hashFile(path: string): Promise<string> {
  return checksumFile(path, 'sha256');
}

/** The checksum of the file at `path`, read from disk. */
export async function checksumFile(path: string, kind: Checksum): Promise<string> {
  const running = runningChecksum(kind);
  for await (const chunk of createReadStream(path)) running.update(chunk as Buffer);
  return running.digest();
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
