import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { errnoOf, errors } from '../errors.js';

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}

function refuseIntoItself(from: string, to: string, verb: string): void {
  if (to === from || to.startsWith(from.endsWith(sep) ? from : from + sep)) {
    throw errors.invalidParams(`cannot ${verb} ${from} into itself (${to})`);
  }
}

/** mkdir; `created` is false when the directory was already there (recursive only). */
export async function createDirectory(path: string, recursive: boolean, mode?: number): Promise<boolean> {
  if (recursive) {
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !existing.isDirectory())
      throw errors.conflict(`${path}: exists and is not a directory`, { path });
    if (existing) return false;
    await mkdir(path, { recursive: true, mode });
    return true;
  }
  await mkdir(path, { mode });
  return true;
}

/**
 * Remove a file, symlink (not its target) or directory. A non-empty directory needs
 * `recursive`; `/` and the home directory are refused outright, since no caller means that.
 */
export async function remove(path: string, recursive: boolean, home: string): Promise<void> {
  if (path === '/' || path === home) throw errors.invalidParams(`refusing to remove ${path}`);
  const stats = await lstat(path);
  if (!stats.isDirectory()) return unlink(path);
  if (!recursive) return rmdir(path);
  await rm(path, { recursive: true });
}

/**
 * Copy a file or tree: modes, timestamps and symlinks (as links) kept. Without `overwrite` an
 * existing destination is a Conflict; with it, files are replaced and directories merged.
 */
export async function copy(from: string, to: string, overwrite: boolean): Promise<void> {
  await lstat(from);
  refuseIntoItself(from, to, 'copy');
  if (!overwrite && (await exists(to)))
    throw errors.conflict(`${to}: already exists; pass overwrite: true`, { path: to });
  await cp(from, to, {
    recursive: true,
    force: overwrite,
    errorOnExist: !overwrite,
    preserveTimestamps: true,
    verbatimSymlinks: true,
  });
}

/**
 * Rename or move. Across filesystems (EXDEV) it copies then removes the source, so the source
 * stays whole until the copy is complete. With `overwrite`, an existing destination is replaced:
 * it is first renamed aside and restored if the move fails, so a failed move loses nothing.
 */
export async function move(from: string, to: string, overwrite: boolean): Promise<void> {
  const source = await lstat(from);
  refuseIntoItself(from, to, 'move');
  const destination = await lstat(to).catch((err) => {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  });
  if (destination && !overwrite)
    throw errors.conflict(`${to}: already exists; pass overwrite: true`, { path: to });
  // A file renamed over a file is atomic by itself; anything involving a directory is not.
  const aside =
    destination && (destination.isDirectory() || source.isDirectory())
      ? join(dirname(to), `.${basename(to)}.klient-${randomBytes(6).toString('hex')}.old`)
      : undefined;
  if (aside) await rename(to, aside);
  try {
    await moveOnce(from, to);
  } catch (err) {
    if (aside) await rename(aside, to).catch(() => {});
    throw err;
  }
  if (aside) await rm(aside, { recursive: true, force: true });
}

async function moveOnce(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (errnoOf(err) !== 'EXDEV') throw err;
    try {
      await cp(from, to, { recursive: true, force: true, preserveTimestamps: true, verbatimSymlinks: true });
    } catch (copyErr) {
      await rm(to, { recursive: true, force: true }).catch(() => {});
      throw copyErr;
    }
    await rm(from, { recursive: true, force: true });
  }
}
