import type { Stats } from 'node:fs';
import { access, constants, lstat, readlink, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { FsEntry } from '@kk/protocol/catalogue/fs.js';
import { errnoOf } from '../errors.js';

export type { FsEntry };

function kind(stats: Stats): 'file' | 'directory' | 'other' {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  return 'other';
}

/** Who is looking (the Klient process) and whether the directory's filesystem is read-only. */
export interface Viewer {
  uid: number;
  gids: ReadonlySet<number>;
  readOnlyFs: boolean;
}

/**
 * The viewer for entries in `dir`: one access(2) per directory tells a read-only mount apart,
 * the rest is the process's own ids. Computing `readable`/`writable` from these and each
 * entry's mode (as `ls -l` reads) instead of two access(2) calls per entry makes a
 * 100,000-entry listing several times faster; ACLs and immutable flags are not consulted, and
 * the operation itself stays the authority.
 */
export async function viewerFor(dir: string): Promise<Viewer> {
  let readOnlyFs = false;
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    readOnlyFs = errnoOf(err) === 'EROFS';
  }
  return {
    uid: process.getuid?.() ?? -1,
    gids: new Set([process.getgid?.() ?? -1, ...(process.getgroups?.() ?? [])]),
    readOnlyFs,
  };
}

/** Whether the viewer may read (bit 4) or write (bit 2) a file with these stats. */
function may(stats: Stats, viewer: Viewer, bit: 4 | 2): boolean {
  if (bit === 2 && viewer.readOnlyFs) return false;
  if (viewer.uid === 0) return true;
  if (stats.uid === viewer.uid) return ((stats.mode >> 6) & bit) !== 0;
  if (viewer.gids.has(stats.gid)) return ((stats.mode >> 3) & bit) !== 0;
  return (stats.mode & bit) !== 0;
}

/**
 * Describe one path as the wire shows it. The entry is the path itself (lstat), so a symlink
 * is reported as one with its target; `readable`/`writable` are what the Klient user may do
 * to what the path leads to (a link's target), which is what a file tree greys out.
 */
export async function describe(path: string, viewer?: Viewer): Promise<FsEntry> {
  const own = await lstat(path);
  const seer = viewer ?? (await viewerFor(dirname(path)));
  const entry: FsEntry = {
    name: basename(path) || path,
    path,
    type: own.isSymbolicLink() ? 'symlink' : kind(own),
    size: own.size,
    mode: own.mode & 0o7777,
    mtime: Math.floor(own.mtimeMs),
    readable: false,
    writable: false,
  };
  let effective: Stats | undefined = own;
  if (own.isSymbolicLink()) {
    entry.target = await readlink(path);
    effective = await stat(path).catch(() => undefined);
    entry.broken = effective === undefined;
    if (effective) entry.targetType = kind(effective);
  }
  if (effective) {
    entry.readable = may(effective, seer, 4);
    entry.writable = may(effective, seer, 2);
  }
  return entry;
}
