import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicWrite, type WriteOptions } from './atomic-write.js';

const replace: WriteOptions = { append: false, ifNotExists: false, createParents: false };

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex');
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomic-write-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('AtomicWrite with pipelined chunks', () => {
  it('reports the hash of what it wrote when a chunk is refused mid-way', async () => {
    const path = join(dir, 'f');
    const write = await AtomicWrite.begin(path, replace);
    const [a, b, c] = [Buffer.from('first '), Buffer.from('stray '), Buffer.from('second')];
    const writes = [write.write(a, 0), write.write(b, 999), write.write(c, a.length)];
    const results = await Promise.allSettled(writes);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const done = await write.commit();
    expect(await readFile(path, 'utf8')).toBe('first second');
    expect(done.checksum).toBe(sha256(a, c));
  });

  it('leaves a chunk sent after the commit out of the file and of its hash', async () => {
    const path = join(dir, 'g');
    const write = await AtomicWrite.begin(path, replace);
    const first = write.write(Buffer.from('kept'));
    const committed = write.commit();
    const late = write.write(Buffer.from('late'));
    await first;
    const done = await committed;
    await expect(late).rejects.toThrow(/already committed/);
    expect(await readFile(path, 'utf8')).toBe('kept');
    expect(done.checksum).toBe(sha256(Buffer.from('kept')));
  });
});
