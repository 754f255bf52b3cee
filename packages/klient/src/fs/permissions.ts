import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf } from '../errors.js';

/**
 * chmod a path, or with `recursive` every file and directory under it (the same mode for both).
 * Symlinks inside a tree are neither followed nor changed (Linux has no lchmod); a symlink
 * named directly is followed, like chmod(1). Answers how many paths were changed.
 */
export async function setPermissions(path: string, mode: number, recursive: boolean): Promise<number> {
  const stats = await lstat(path);
  if (!recursive || !stats.isDirectory()) {
    await chmod(path, mode);
    return 1;
  }
  return chmodTree(path, mode);
}

/*
 * Children before their directory, so a mode that takes away the directory's search bit does
 * not lock us out halfway; a directory we cannot list yet gets the mode first, in case the
 * new mode is what grants it.
 */
async function chmodTree(dir: string, mode: number): Promise<number> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) !== 'EACCES') throw err;
    await chmod(dir, mode);
    entries = await readdir(dir, { withFileTypes: true });
  }
  let changed = 0;
  for (const entry of entries) {
    const child = join(dir, entry.name);
    if (entry.isDirectory()) changed += await chmodTree(child, mode);
    else if (!entry.isSymbolicLink()) {
      await chmod(child, mode);
      changed++;
    }
  }
  await chmod(dir, mode);
  return changed + 1;
}
