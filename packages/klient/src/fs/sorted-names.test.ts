import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sortedNames } from './sorted-names.js';

let dir: string;
const past = new Date(Date.now() - 60_000);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-names-'));
  for (let i = 2999; i >= 0; i--) closeSync(openSync(join(dir, `n${i}`), 'w'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('sortedNames', () => {
  it('sorts by code unit', async () => {
    const names = await sortedNames(dir);
    expect(names).toHaveLength(3000);
    expect(names).toEqual([...names].sort());
  });

  it('reuses the listing of a big directory that has not changed since long before', async () => {
    await utimes(dir, past, past);
    const first = await sortedNames(dir);
    expect(await sortedNames(dir)).toBe(first);
  });

  it('sees every change: an added or removed entry changes the mtime', async () => {
    await utimes(dir, past, past);
    await sortedNames(dir);
    await writeFile(join(dir, 'added'), '');
    expect(await sortedNames(dir)).toContain('added');
    await utimes(dir, past, past);
    await sortedNames(dir);
    await unlink(join(dir, 'added'));
    expect(await sortedNames(dir)).not.toContain('added');
  });

  it('does not keep a listing read in the same moment the directory changed', async () => {
    await writeFile(join(dir, 'fresh'), ''); // mtime is now
    const first = await sortedNames(dir);
    expect(await sortedNames(dir)).not.toBe(first);
  });
});
