import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * The content hash used for `ifMatch`: lowercase hex SHA-256 of the whole file. A content hash,
 * not mtime+size, because two writes in the same second with the same length must still differ.
 */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
