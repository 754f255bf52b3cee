import { lstat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { glob as tinyglob } from 'tinyglobby';
import { errnoOf, errors } from '../errors.js';

export interface GlobQuery {
  patterns: string | string[];
  cwd: string;
  ignore?: string[];
  dot: boolean;
  onlyFiles: boolean;
  limit: number;
  signal?: AbortSignal;
}

/** Paths (relative to cwd, sorted) matching the patterns; symlinks are not followed into. */
export async function glob(query: GlobQuery): Promise<{ matches: string[]; truncated: boolean }> {
  const stats = await lstat(query.cwd);
  if (!stats.isDirectory()) throw errors.invalidParams(`${query.cwd}: not a directory (cwd of a glob)`);
  const all = await tinyglob(query.patterns, {
    cwd: query.cwd,
    ignore: query.ignore,
    dot: query.dot,
    onlyFiles: query.onlyFiles,
    followSymbolicLinks: false,
    expandDirectories: false,
    signal: query.signal,
  });
  all.sort();
  return { matches: all.slice(0, query.limit), truncated: all.length > query.limit };
}

const MAX_TRIES = 10_000;

/** `path` if free, else `name-1.ext`, `name-2.ext`, … (a dotfile keeps its leading dot whole). */
export async function uniquePath(path: string): Promise<string> {
  const dir = dirname(path);
  const name = basename(path);
  const ext = extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  for (let i = 0; i <= MAX_TRIES; i++) {
    const candidate = i === 0 ? path : join(dir, `${stem}-${i}${ext}`);
    try {
      await lstat(candidate);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return candidate;
      throw err;
    }
  }
  throw errors.conflict(`${path}: no free name after ${MAX_TRIES} tries`);
}
