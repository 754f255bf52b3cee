import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf, errors } from '../errors.js';

export interface DiskInfo {
  path: string;
  total: number;
  free: number;
  available: number;
  inodesTotal: number;
  inodesFree: number;
}

/** Capacity of the filesystem holding `path` (statfs(2)). */
export async function diskInfo(path: string): Promise<DiskInfo> {
  const s = await statfs(path);
  return {
    path,
    total: s.blocks * s.bsize,
    free: s.bfree * s.bsize,
    available: s.bavail * s.bsize,
    inodesTotal: s.files,
    inodesFree: s.ffree,
  };
}

export interface PathSize {
  path: string;
  bytes: number;
  files: number;
  directories: number;
  /** Directories that could not be listed (permission denied, removed meanwhile). */
  unreadable: number;
}

/**
 * Apparent size of a file or tree, like `du -s --apparent-size -b` without following symlinks
 * (a link counts its own size). Stops when `signal` aborts (the caller went away).
 */
export async function pathSize(path: string, signal?: AbortSignal): Promise<PathSize> {
  const root = await lstat(path);
  const total: PathSize = { path, bytes: root.size, files: 0, directories: 0, unreadable: 0 };
  if (!root.isDirectory()) {
    total.files = 1;
    return total;
  }
  total.directories = 1;
  const pending = [path];
  while (pending.length > 0) {
    if (signal?.aborted) throw errors.cancelled('the size walk was cancelled');
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (dir === path) throw err;
      total.unreadable++;
      continue;
    }
    for (const name of names) {
      const child = join(dir, name);
      try {
        const s = await lstat(child);
        total.bytes += s.size;
        if (s.isDirectory()) {
          total.directories++;
          pending.push(child);
        } else total.files++;
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
    }
  }
  return total;
}
