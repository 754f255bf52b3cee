import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noTempFiles, startTestKlient, type TestKlient } from '../testing/harness.js';
import { hashBytes } from './hash.js';

let t: TestKlient;
let client: RpcClient;
const at = (...parts: string[]) => join(t.home, ...parts);

beforeAll(async () => {
  t = await startTestKlient();
  client = await t.connect('user');
});
afterAll(() => t.close());

describe('fs.writeFile', () => {
  it('creates, replaces, appends and writes at an offset, answering size and hash', async () => {
    const created = await client.call('fs.writeFile', { path: 'w.txt', content: 'hello' });
    expect(created).toMatchObject({ path: at('w.txt'), size: 5, hash: hashBytes(Buffer.from('hello')) });
    expect((await stat(at('w.txt'))).mode & 0o777).toBe(0o644);
    await client.call('fs.writeFile', { path: 'w.txt', content: ' world', append: true });
    expect(await readFile(at('w.txt'), 'utf8')).toBe('hello world');
    await client.call('fs.writeFile', { path: 'w.txt', content: 'W', offset: 6 });
    expect(await readFile(at('w.txt'), 'utf8')).toBe('hello World');
    const replaced = await client.call('fs.writeFile', {
      path: 'w.txt',
      content: Buffer.from([0, 1, 2]).toString('base64'),
      encoding: 'base64',
    });
    expect(replaced.size).toBe(3);
    expect(await readFile(at('w.txt'))).toEqual(Buffer.from([0, 1, 2]));
    await noTempFiles(t.home);
  });

  it('keeps the mode of the file it replaces, and sets one for a new file when asked', async () => {
    await writeFile(at('script.sh'), 'old');
    await chmod(at('script.sh'), 0o750);
    await client.call('fs.writeFile', { path: 'script.sh', content: 'new' });
    expect((await stat(at('script.sh'))).mode & 0o7777).toBe(0o750);
    await client.call('fs.writeFile', { path: 'secret', content: 's', mode: 0o600 });
    expect((await stat(at('secret'))).mode & 0o7777).toBe(0o600);
  });

  it('writes through a symlink, leaving the link a link', async () => {
    await writeFile(at('real.txt'), 'real');
    await symlink('real.txt', at('alias.txt'));
    await client.call('fs.writeFile', { path: 'alias.txt', content: 'through' });
    expect((await lstat(at('alias.txt'))).isSymbolicLink()).toBe(true);
    expect(await readFile(at('real.txt'), 'utf8')).toBe('through');
  });

  it('refuses a lost update (ifMatch) and an existing file (ifNotExists), changing nothing', async () => {
    const first = await client.call('fs.writeFile', { path: 'doc.txt', content: 'v1' });
    const read = await client.call('fs.readFile', { path: 'doc.txt' });
    expect(read.hash).toBe(first.hash);
    await client.call('fs.writeFile', { path: 'doc.txt', content: 'v2 by someone else' });
    await expect(
      client.call('fs.writeFile', { path: 'doc.txt', content: 'v2 by me', ifMatch: read.hash }),
    ).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      message: expect.stringContaining('changed since it was read'),
    });
    expect(await readFile(at('doc.txt'), 'utf8')).toBe('v2 by someone else');
    const current = (await client.call('fs.getInfo', { path: 'doc.txt', hash: true })).hash!;
    await client.call('fs.writeFile', { path: 'doc.txt', content: 'v3', ifMatch: current });
    expect(await readFile(at('doc.txt'), 'utf8')).toBe('v3');
    await expect(
      client.call('fs.writeFile', { path: 'doc.txt', content: 'x', ifNotExists: true }),
    ).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    expect(await readFile(at('doc.txt'), 'utf8')).toBe('v3');
    await noTempFiles(t.home);
  });

  it('lets exactly one of two racing writers with the same ifMatch win', async () => {
    const { hash } = await client.call('fs.writeFile', { path: 'race.txt', content: 'base' });
    const results = await Promise.allSettled(
      ['A', 'B'].map((who) => client.call('fs.writeFile', { path: 'race.txt', content: who, ifMatch: hash })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: ErrorCode.Conflict },
    });
  });

  it('refuses bad input clearly and changes nothing', async () => {
    await mkdir(at('adir'));
    await expect(client.call('fs.writeFile', { path: 'adir', content: 'x' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('is a directory'),
    });
    await expect(client.call('fs.writeFile', { path: 'no/such/dir/f', content: 'x' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await expect(
      client.call('fs.writeFile', { path: 'x', content: '***', encoding: 'base64' }),
    ).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('base64'),
    });
    await expect(
      client.call('fs.writeFile', { path: 'x', content: 'a', append: true, offset: 1 }),
    ).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(
      client.call('fs.writeFile', { path: 'x', content: 'a', ifMatch: 'abc' }),
    ).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('ifMatch'),
    });
    await expect(client.call('fs.writeFile', { path: 'x' } as never)).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('fs.readFile', { path: 'x' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    const created = await client.call('fs.writeFile', {
      path: 'deep/er/f.txt',
      content: 'x',
      createParents: true,
    });
    expect(created.path).toBe(at('deep', 'er', 'f.txt'));
    await noTempFiles(t.home);
  });
});

describe('chunked upload (fs.openWrite / writeChunk / commitWrite)', () => {
  it('streams a file to disk in chunks; the target changes only at commit', async () => {
    await writeFile(at('up.bin'), 'old');
    const { uploadId } = await client.call('fs.openWrite', { path: 'up.bin' });
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    for (let i = 0; i < 8; i++) {
      const { received } = await client.call('fs.writeChunk', {
        uploadId,
        data: chunk.toString('base64'),
        at: sent,
      });
      sent += chunk.length;
      expect(received).toBe(sent);
    }
    expect(await readFile(at('up.bin'), 'utf8')).toBe('old');
    await expect(client.call('fs.writeChunk', { uploadId, data: 'AAAA', at: 5 })).rejects.toMatchObject({
      code: ErrorCode.InvalidState,
      data: { received: sent },
    });
    const done = await client.call('fs.commitWrite', { uploadId });
    expect(done.size).toBe(8 * 1024 * 1024);
    expect((await stat(at('up.bin'))).size).toBe(8 * 1024 * 1024);
    await expect(client.call('fs.writeChunk', { uploadId, data: 'AAAA' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await noTempFiles(t.home);
  });

  it("reports the content's CRC-32 instead of its sha256 when the upload asks for it", async () => {
    const crc32Hex = (bytes: Uint8Array) => crc32(bytes).toString(16).padStart(8, '0');
    const open = async (options: { append?: boolean } = {}) =>
      (await client.call('fs.openWrite', { path: 'sum.bin', checksum: 'crc32', ...options })).uploadId;
    const send = (uploadId: string, data: Buffer, at?: number) =>
      client.call('fs.writeChunk', { uploadId, data: data.toString('base64'), at });
    // Leading zeros kept: this one's CRC-32 is below 0x10000000.
    const small = Buffer.from('kk-crc-12');
    expect(crc32(small)).toBeLessThan(0x10000000);
    let uploadId = await open();
    await send(uploadId, small);
    const first = await client.call('fs.commitWrite', { uploadId });
    expect(first).toMatchObject({ size: small.length, crc32: crc32Hex(small) });
    expect(first).not.toHaveProperty('hash');
    // A refused chunk voids the running checksum: the commit reads the file back and still agrees.
    const a = randomBytes(300_000);
    const b = randomBytes(5);
    uploadId = await open();
    await send(uploadId, a, 0);
    await expect(send(uploadId, b, 7)).rejects.toMatchObject({ code: ErrorCode.InvalidState });
    await send(uploadId, b, a.length);
    const whole = Buffer.concat([a, b]);
    expect(await client.call('fs.commitWrite', { uploadId })).toMatchObject({
      size: whole.length,
      crc32: crc32Hex(whole),
    });
    // An append's checksum is of the whole new content, as its sha256 would be.
    uploadId = await open({ append: true });
    await send(uploadId, small);
    const appended = Buffer.concat([whole, small]);
    expect((await client.call('fs.commitWrite', { uploadId })).crc32).toBe(crc32Hex(appended));
    expect(await readFile(at('sum.bin'))).toEqual(appended);
    // Without the option the sha256 comes back, as before.
    uploadId = (await client.call('fs.openWrite', { path: 'sum.bin' })).uploadId;
    await send(uploadId, small);
    const hashed = await client.call('fs.commitWrite', { uploadId });
    expect(hashed).toMatchObject({ hash: hashBytes(small) });
    expect(hashed).not.toHaveProperty('crc32');
    await noTempFiles(t.home);
  });

  it('aborts cleanly, and drops uploads when the connection closes', async () => {
    const { uploadId } = await client.call('fs.openWrite', { path: 'never.bin' });
    await client.call('fs.writeChunk', { uploadId, data: 'AAAA' });
    expect(await client.call('fs.abortWrite', { uploadId })).toEqual({ aborted: true });
    expect(await client.call('fs.abortWrite', { uploadId })).toEqual({ aborted: false });
    const other = await t.connect('user');
    await other.call('fs.openWrite', { path: 'orphan.bin' });
    expect((await readdir(t.home)).some((n) => n.startsWith('.orphan.bin.klient-'))).toBe(true);
    other.close();
    await expect
      .poll(async () => (await readdir(t.home)).filter((n) => n.includes('.klient-')), { timeout: 20_000 })
      .toEqual([]);
    await expect(stat(at('never.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a commit when the file changed under an append upload', async () => {
    await writeFile(at('log.txt'), 'line1\n');
    const { uploadId } = await client.call('fs.openWrite', { path: 'log.txt', append: true });
    await client.call('fs.writeChunk', { uploadId, data: 'line2\n', encoding: 'utf8' });
    await writeFile(at('log.txt'), 'line1\nother\n');
    await expect(client.call('fs.commitWrite', { uploadId })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    expect(await readFile(at('log.txt'), 'utf8')).toBe('line1\nother\n');
    await noTempFiles(t.home);
  });

  it('caps uploads per connection', async () => {
    const capped = await startTestKlient({ maxUploadsPerConnection: 2 });
    try {
      const c = await capped.connect('owner');
      await c.call('fs.openWrite', { path: 'a' });
      await c.call('fs.openWrite', { path: 'b' });
      await expect(c.call('fs.openWrite', { path: 'c' })).rejects.toMatchObject({
        code: ErrorCode.RateLimited,
      });
    } finally {
      await capped.close();
    }
  });
});

describe('directories, remove, rename/move, copy, setPermissions', () => {
  it('fs.createDirectory creates parents and says whether it created', async () => {
    expect(await client.call('fs.createDirectory', { path: 'm/n/o' })).toEqual({
      path: at('m', 'n', 'o'),
      created: true,
    });
    expect(await client.call('fs.createDirectory', { path: 'm/n/o' })).toMatchObject({ created: false });
    await expect(client.call('fs.createDirectory', { path: 'p/q', recursive: false })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await writeFile(at('plain'), '');
    await expect(client.call('fs.createDirectory', { path: 'plain' })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    await expect(client.call('fs.createDirectory', { path: 'm', recursive: false })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
  });

  it('fs.remove removes files and links, and directories only with recursive', async () => {
    await mkdir(at('rm', 'inner'), { recursive: true });
    await writeFile(at('rm', 'inner', 'f'), 'x');
    await symlink(at('rm'), at('rm-link'));
    await client.call('fs.remove', { path: 'rm-link' });
    expect((await stat(at('rm'))).isDirectory()).toBe(true);
    await expect(client.call('fs.remove', { path: 'rm' })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
      message: expect.stringContaining('recursive'),
    });
    expect(await readFile(at('rm', 'inner', 'f'), 'utf8')).toBe('x');
    await client.call('fs.remove', { path: 'rm', recursive: true });
    await expect(stat(at('rm'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(client.call('fs.remove', { path: 'rm' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await expect(client.call('fs.remove', { path: '/', recursive: true })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('fs.remove', { path: '~', recursive: true })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
  });

  it('fs.rename and fs.move refuse to overwrite unless asked, and never move into themselves', async () => {
    await writeFile(at('r1'), 'one');
    await writeFile(at('r2'), 'two');
    await expect(client.call('fs.rename', { from: 'r1', to: 'r2' })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    expect(await readFile(at('r2'), 'utf8')).toBe('two');
    await client.call('fs.rename', { from: 'r1', to: 'r2', overwrite: true });
    expect(await readFile(at('r2'), 'utf8')).toBe('one');
    await mkdir(at('tree', 'x'), { recursive: true });
    await expect(client.call('fs.move', { from: 'tree', to: 'tree/x/y' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('into itself'),
    });
    await mkdir(at('target-dir'));
    await writeFile(at('target-dir', 'old'), '');
    await client.call('fs.move', { from: 'tree', to: 'target-dir', overwrite: true });
    expect(await readdir(at('target-dir'))).toEqual(['x']);
    await expect(client.call('fs.move', { from: 'nope', to: 'n2' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await noTempFiles(t.home);
  });

  it('fs.move crosses filesystems (EXDEV: copy then remove), keeping modes and links', async () => {
    const src = join(t.dir, 'cross');
    await mkdir(join(src, 'd'), { recursive: true });
    await writeFile(join(src, 'd', 'exe'), '#!/bin/sh\n');
    await chmod(join(src, 'd', 'exe'), 0o755);
    await symlink('d/exe', join(src, 'ln'));
    const dest = join('/dev/shm', `klient-test-${process.pid}-${Date.now()}`);
    try {
      await client.call('fs.move', { from: src, to: dest });
      await expect(stat(src)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await stat(join(dest, 'd', 'exe'))).mode & 0o777).toBe(0o755);
      expect(await readlink(join(dest, 'ln'))).toBe('d/exe');
    } finally {
      await client.call('fs.remove', { path: dest, recursive: true }).catch(() => {});
    }
  });

  it('fs.copy copies trees with modes, refusing to overwrite unless asked', async () => {
    await mkdir(at('c1', 'd'), { recursive: true });
    await writeFile(at('c1', 'd', 'f'), 'content');
    await chmod(at('c1', 'd', 'f'), 0o640);
    await chmod(at('c1', 'd'), 0o750);
    await client.call('fs.copy', { from: 'c1', to: 'c2' });
    expect(await readFile(at('c2', 'd', 'f'), 'utf8')).toBe('content');
    expect((await stat(at('c2', 'd', 'f'))).mode & 0o777).toBe(0o640);
    expect((await stat(at('c2', 'd'))).mode & 0o777).toBe(0o750);
    expect(await readFile(at('c1', 'd', 'f'), 'utf8')).toBe('content');
    await expect(client.call('fs.copy', { from: 'c1', to: 'c2' })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    await expect(client.call('fs.copy', { from: 'c1', to: 'c1/d/inside' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('fs.copy', { from: 'nope', to: 'c3' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('fs.setPermissions sets a mode, recursively on request', async () => {
    await mkdir(at('perm', 'sub'), { recursive: true });
    await writeFile(at('perm', 'sub', 'f'), '');
    expect(await client.call('fs.setPermissions', { path: 'perm/sub/f', mode: 0o600 })).toMatchObject({
      changed: 1,
    });
    expect((await stat(at('perm', 'sub', 'f'))).mode & 0o7777).toBe(0o600);
    expect(
      await client.call('fs.setPermissions', { path: 'perm', mode: 0o750, recursive: true }),
    ).toMatchObject({ changed: 3 });
    for (const p of [at('perm'), at('perm', 'sub'), at('perm', 'sub', 'f')])
      expect((await stat(p)).mode & 0o7777).toBe(0o750);
    await expect(client.call('fs.setPermissions', { path: 'perm', mode: 0o10000 })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('fs.setPermissions', { path: 'nope', mode: 0o600 })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });
});
