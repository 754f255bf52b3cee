import { join } from 'node:path';
import { errors } from '../errors.js';
import { describe, type FsEntry, viewerFor } from './entry.js';
import { mapLimited } from './map-limited.js';
import { sortedNames } from './sorted-names.js';

export interface DirectoryPage {
  entries: FsEntry[];
  nextCursor: string | null;
}

/*
 * Cursors are stateless: the name of the last entry sent (entries are sorted by code unit), so a
 * caller can page through a 100,000-entry directory in any number of calls, on any connection,
 * without Klient holding a snapshot. An entry added behind the cursor meanwhile is not seen;
 * that is what the watch is for.
 */
function encodeCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor))
    throw errors.invalidParams('cursor is not one this server issued; list again from the start');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/** One page of a directory's entries, sorted by name, starting after `cursor`. */
export async function readDirectoryPage(
  dir: string,
  cursor: string | undefined,
  limit: number,
): Promise<DirectoryPage> {
  const names = await sortedNames(dir);
  let start = 0;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    // First name greater than the cursor: binary search, the listing is sorted.
    let lo = 0;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const slice = names.slice(start, start + limit);
  const viewer = await viewerFor(dir);
  const described = await mapLimited(slice, 64, async (name) => {
    try {
      return await describe(join(dir, name), viewer);
    } catch {
      return undefined; // removed between readdir and lstat: it is simply not there any more
    }
  });
  const entries = described.filter((e): e is FsEntry => e !== undefined);
  const more = start + limit < names.length;
  return { entries, nextCursor: more && slice.length > 0 ? encodeCursor(slice[slice.length - 1]!) : null };
}
