/**
 * A full disk (ENOSPC) on a real 1 MiB tmpfs: the write is refused with a clear error, the old
 * file stays whole and no temp file is left behind. Needs root to mount; skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from '../testing/harness.js';

const isRoot = process.getuid?.() === 0;
let t: TestKlient;
let client: RpcClient;
let disk: string;

beforeAll(async () => {
  if (!isRoot) return;
  t = await startTestKlient();
  client = await t.connect('owner');
  disk = join(t.dir, 'small');
  await mkdir(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
});
afterAll(async () => {
  if (!isRoot) return;
  execFileSync('umount', [disk]);
  await t.close();
});

describe.skipIf(!isRoot)('a full disk', () => {
  it('refuses the write as Unavailable saying so, and loses nothing', async () => {
    const file = join(disk, 'data.txt');
    await writeFile(file, 'old content');
    const big = 'x'.repeat(2 * 1024 * 1024);
    await expect(client.call('fs.writeFile', { path: file, content: big })).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
      message: expect.stringContaining('no space left'),
    });
    expect(await readFile(file, 'utf8')).toBe('old content');
    expect(await readdir(disk)).toEqual(['data.txt']);

    const { uploadId } = await client.call('fs.openWrite', { path: file });
    const chunk = Buffer.alloc(512 * 1024, 1).toString('base64');
    await client.call('fs.writeChunk', { uploadId, data: chunk });
    await expect(client.call('fs.writeChunk', { uploadId, data: chunk })).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
    await client.call('fs.abortWrite', { uploadId });
    expect(await readFile(file, 'utf8')).toBe('old content');
    expect(await readdir(disk)).toEqual(['data.txt']);
  });
});
