import { readdir, stat } from 'node:fs/promises';

/*
 * Paging a 100,000-entry directory 1000 at a time would read and sort all 100,000 names for
 * every page. The sorted names of big directories are kept for later pages, keyed by the
 * directory's inode and mtime (any entry added, removed or renamed changes the mtime). As with
 * git's racily-clean index, a listing is only kept when the mtime was already well in the past
 * when it was read: mtimes tick coarsely, and a change in the same tick as our read would
 * otherwise leave a stale listing that looks fresh.
 */
const MIN_NAMES = 2000;
const MAX_CACHED_NAMES = 500_000;
const SETTLED_MS = 2000;

interface Listing {
  ino: number;
  mtimeMs: number;
  names: string[];
}

const listings = new Map<string, Listing>();
let cachedNames = 0;

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The names in `dir`, sorted by code unit. */
export async function sortedNames(dir: string): Promise<string[]> {
  const before = await stat(dir);
  const hit = listings.get(dir);
  if (hit && hit.ino === before.ino && hit.mtimeMs === before.mtimeMs) {
    listings.delete(dir);
    listings.set(dir, hit); // most recently used last
    return hit.names;
  }
  const names = (await readdir(dir)).sort(byCodeUnit);
  if (hit) forget(dir, hit);
  if (names.length >= MIN_NAMES && Date.now() - before.mtimeMs > SETTLED_MS) remember(dir, before, names);
  return names;
}

function remember(dir: string, stats: { ino: number; mtimeMs: number }, names: string[]): void {
  if (names.length > MAX_CACHED_NAMES) return;
  while (cachedNames + names.length > MAX_CACHED_NAMES) {
    const [oldest, listing] = listings.entries().next().value as [string, Listing];
    forget(oldest, listing);
  }
  listings.set(dir, { ino: stats.ino, mtimeMs: stats.mtimeMs, names });
  cachedNames += names.length;
}

function forget(dir: string, listing: Listing): void {
  listings.delete(dir);
  cachedNames -= listing.names.length;
}
