/** `kd cp` and `kd ls` against a real Klient: binary round trips byte for byte, and failures that change nothing. */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue } from '@kk/protocol/catalogue/index.js';
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestKlient, type TestKlient } from '../../packages/klient/src/testing/harness.js';
import { KD, kd } from './kd.js';

let klient: TestKlient;
let token: string;
let local: string;
const m = () => klient.klient.url;
const withToken = (args: string[]) => [...args, '--token', token];

beforeAll(async () => {
  klient = await startTestKlient();
  token = await klient.token('owner');
  local = await mkdtemp(join(tmpdir(), 'kd-cp-'));
});
afterAll(async () => {
  await klient?.close();
  await rm(local, { recursive: true, force: true });
});

describe('kd cp', () => {
  it('copies a binary file up and back byte for byte (several chunks)', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 333);
    await writeFile(join(local, 'blob.bin'), data);
    const up = await kd(withToken(['cp', join(local, 'blob.bin'), `${m()}:blob.bin`]));
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(Buffer.compare(await readFile(join(klient.home, 'blob.bin')), data)).toBe(0);

    const down = await kd(withToken(['cp', `${m()}:blob.bin`, join(local, 'back.bin')]));
    expect(down.code).toBe(0);
    expect(Buffer.compare(await readFile(join(local, 'back.bin')), data)).toBe(0);
    // No temporary file is left beside the target.
    expect((await readdir(local)).sort()).toEqual(['back.bin', 'blob.bin']);
  });

  it('copies into a directory by name, and through stdin and stdout', async () => {
    await writeFile(join(local, 'note.txt'), 'hello\n');
    expect(
      (await kd(withToken(['cp', join(local, 'note.txt'), `${m()}:/${klient.home.slice(1)}/`]))).code,
    ).toBe(0);
    expect(await readFile(join(klient.home, 'note.txt'), 'utf8')).toBe('hello\n');

    expect(
      (await kd(withToken(['cp', '-', `${m()}:piped.bin`]), { stdin: Buffer.from([0, 255, 1, 254]) })).code,
    ).toBe(0);
    const out = await kd(withToken(['cp', `${m()}:piped.bin`, '-']));
    expect([...out.stdout]).toEqual([0, 255, 1, 254]);
  });

  it('a missing remote file exits 5 and leaves no local file', async () => {
    const r = await kd(withToken(['cp', `${m()}:nope.txt`, join(local, 'nope.txt')]));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^kd: .*nope\.txt/);
    expect(await readdir(local)).not.toContain('nope.txt');
  });

  it('a read-only token is refused with exit 4 and the remote file is untouched', async () => {
    await writeFile(join(klient.home, 'keep.txt'), 'original');
    await writeFile(join(local, 'keep.txt'), 'replacement');
    const ro = await klient.token('readonly');
    const r = await kd(['cp', join(local, 'keep.txt'), `${m()}:keep.txt`, '--token', ro]);
    expect(r.code).toBe(4);
    expect(await readFile(join(klient.home, 'keep.txt'), 'utf8')).toBe('original');
  });

  it('shows progress on a terminal, and ends with the size', async () => {
    await writeFile(join(local, 'big.bin'), randomBytes(3 * 1024 * 1024));
    const pty = spawnPty(
      process.execPath,
      [KD, 'cp', join(local, 'big.bin'), `${m()}:big.bin`, '--token', token],
      {
        cols: 100,
        rows: 10,
        env: process.env as Record<string, string>,
      },
    );
    let output = '';
    pty.onData((data) => {
      output += data;
    });
    expect(await new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)))).toBe(0);
    expect(output).toContain('\r\x1b[K[');
    expect(output).toMatch(/big\.bin 3\.0 MiB/);
  });

  it('copies a directory tree with -r both ways, reporting what it skipped', async () => {
    const tree = join(local, 'tree');
    await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
    const blob = randomBytes(1024 * 1024 + 3);
    await writeFile(join(tree, 'blob.bin'), blob);
    await writeFile(join(tree, 'sub', 'deeper', 'note.txt'), 'deep\n');
    await writeFile(join(tree, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await symlink('blob.bin', join(tree, 'link'));

    const refused = await kd(withToken(['cp', tree, `${m()}:tree-up`]));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('-r');

    const up = await kd(withToken(['cp', '-r', tree, `${m()}:tree-up`]));
    expect(up.code).toBe(0);
    expect(up.stderr).toBe(`kd: skipped ${join(tree, 'link')}: not a file or directory\n`);
    expect(Buffer.compare(await readFile(join(klient.home, 'tree-up', 'blob.bin')), blob)).toBe(0);
    expect(await readFile(join(klient.home, 'tree-up', 'sub', 'deeper', 'note.txt'), 'utf8')).toBe('deep\n');
    expect((await stat(join(klient.home, 'tree-up', 'run.sh'))).mode & 0o777).toBe(0o755);

    const down = await kd(withToken(['cp', '-r', `${m()}:tree-up`, join(local, 'tree-back')]));
    expect(down.code).toBe(0);
    expect(Buffer.compare(await readFile(join(local, 'tree-back', 'blob.bin')), blob)).toBe(0);
    expect(await readFile(join(local, 'tree-back', 'sub', 'deeper', 'note.txt'), 'utf8')).toBe('deep\n');
    expect((await stat(join(local, 'tree-back', 'run.sh'))).mode & 0o777).toBe(0o755);
  });

  it('uploads to a Klient from before CRC-32 checks, checking by sha256 as it did then', async () => {
    // Such a Klient's fs.openWrite refused any key it did not know, `checksum` among them.
    const openWrite = catalogue['fs.openWrite'];
    const { checksum: _, ...before } = openWrite.params.shape;
    const older = await startTestKlient(
      {},
      { catalogue: { ...catalogue, 'fs.openWrite': { ...openWrite, params: z.object(before).strict() } } },
    );
    try {
      const data = randomBytes(2 * 1024 * 1024 + 7);
      await writeFile(join(local, 'to-older.bin'), data);
      const args = ['cp', join(local, 'to-older.bin'), `${older.klient.url}:to-older.bin`];
      const up = await kd([...args, '--token', await older.token('owner')]);
      expect(up.stderr).toBe('');
      expect(up.code).toBe(0);
      expect(Buffer.compare(await readFile(join(older.home, 'to-older.bin')), data)).toBe(0);
    } finally {
      await older.close();
    }
  });

  it('refuses two local paths with a usage error', async () => {
    const r = await kd(['cp', 'a', 'b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MACHINE:PATH');
  });
});

describe('kd ls', () => {
  it('lists a directory as a table and as JSON', async () => {
    await writeFile(join(klient.home, 'listed.txt'), 'x');
    const table = await kd(withToken(['ls', m()]));
    expect(table.code).toBe(0);
    expect(table.stdout.toString()).toMatch(/^MODE\s+SIZE\s+MODIFIED\s+NAME/);
    expect(table.stdout.toString()).toContain('listed.txt');
    const json = await kd(withToken(['ls', `${m()}:.`, '--json']));
    const entries = JSON.parse(json.stdout.toString()) as Array<{ name: string; size: number }>;
    expect(entries.find((e) => e.name === 'listed.txt')?.size).toBe(1);
  });
});
