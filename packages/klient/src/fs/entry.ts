import type { Stats } from 'node:fs';
import { access, constants, lstat, readlink, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FsEntry } from '@kk/protocol/catalogue/fs.js';

export type { FsEntry };

function kind(stats: Stats): 'file' | 'directory' | 'other' {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  return 'other';
}

async function allowed(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Describe one path as the wire shows it. The entry is the path itself (lstat), so a symlink
 * is reported as one with its target; `readable`/`writable` are what the Klient user may do
 * to what the path leads to (access(2) follows links), which is what a file tree greys out.
 */
export async function describe(path: string, stats?: Stats): Promise<FsEntry> {
  const own = stats ?? (await lstat(path));
  const [readable, writable] = await Promise.all([
    allowed(path, constants.R_OK),
    allowed(path, constants.W_OK),
  ]);
  const entry: FsEntry = {
    name: basename(path) || path,
    path,
    type: own.isSymbolicLink() ? 'symlink' : kind(own),
    size: own.size,
    mode: own.mode & 0o7777,
    mtime: Math.floor(own.mtimeMs),
    readable,
    writable,
  };
  if (own.isSymbolicLink()) {
    entry.target = await readlink(path);
    try {
      entry.targetType = kind(await stat(path));
      entry.broken = false;
    } catch {
      entry.broken = true;
    }
  }
  return entry;
}
