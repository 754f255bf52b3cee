/**
 * The checksums both ends of a transfer compute, so they agree on the format. `sha256` is the
 * content hash ifMatch takes; `crc32` (an upload's `checksum: 'crc32'`) only checks a transfer,
 * at about a third of sha256's CPU: it catches corrupted, lost or repeated bytes, not a forgery.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { z } from 'zod';
import type { uploadChecksumSchema } from '../catalogue/fs.js';

/** The kinds fs.openWrite's `checksum` takes (the catalogue says which). */
export type Checksum = z.infer<typeof uploadChecksumSchema>;

/** A checksum fed as the bytes arrive. */
export interface RunningChecksum {
  update(bytes: Uint8Array): void;
  /** Lowercase hex: 64 digits for sha256, 8 for crc32. */
  digest(): string;
}

export function runningChecksum(kind: Checksum): RunningChecksum {
  if (kind === 'crc32') {
    let value = 0;
    return {
      update: (bytes) => {
        value = crc32(bytes, value);
      },
      digest: () => value.toString(16).padStart(8, '0'),
    };
  }
  const hash = createHash('sha256');
  return {
    update: (bytes) => {
      hash.update(bytes);
    },
    digest: () => hash.digest('hex'),
  };
}
