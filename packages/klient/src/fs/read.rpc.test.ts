import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from '../testing/harness.js';
import { hashBytes } from './hash.js';

let t: TestKlient;
let client: RpcClient;

beforeAll(async () => {
  t = await startTestKlient({ maxInlineReadBytes: 64 * 1024 });
  client = await t.connect('owner');
  await writeFile(join(t.home, 'hello.txt'), 'hello world\n');
  await mkdir(join(t.home, 'sub'));
  await symlink('hello.txt', join(t.home, 'link'));
  await symlink('missing', join(t.home, 'dangling'));
});
afterAll(() => t.close());

describe('fs.readDirectory', () => {
  it('lists entries sorted with type, size, mode, mtime, symlink target and access', async () => {
    const page = await client.call('fs.readDirectory', { path: '.' });
    expect(page.path).toBe(t.home);
    expect(page.nextCursor).toBeNull();
    expect(page.entries.map((e) => e.name)).toEqual(['dangling', 'hello.txt', 'link', 'sub']);
    const [dangling, hello, link, sub] = page.entries;
    expect(hello).toMatchObject({ type: 'file', size: 12, mode: 0o644, readable: true, writable: true });
    expect(hello!.path).toBe(join(t.home, 'hello.txt'));
    expect(typeof hello!.mtime).toBe('number');
    expect(sub).toMatchObject({ type: 'directory' });
    expect(link).toMatchObject({ type: 'symlink', target: 'hello.txt', targetType: 'file', broken: false });
    expect(dangling).toMatchObject({ type: 'symlink', target: 'missing', broken: true });
  });

  it('pages a 100,000-entry directory with cursors, never one giant answer', async () => {
    const big = join(t.dir, 'big');
    await mkdir(big);
    const names = Array.from({ length: 100_000 }, (_, i) => `f${String(i).padStart(6, '0')}`);
    // Synchronous creation: 100,000 queued async opens are several times slower.
    for (const name of names) closeSync(openSync(join(big, name), 'w'));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.call(
        'fs.readDirectory',
        { path: big, cursor, limit: 10_000 },
        { timeoutMs: 60_000 },
      );
      expect(page.entries.length).toBeLessThanOrEqual(10_000);
      seen.push(...page.entries.map((e) => e.name));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(10);
    expect(seen).toEqual(names);
  }, 120_000);

  it('refuses bad input clearly', async () => {
    await expect(client.call('fs.readDirectory', { path: 'nope' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
      message: expect.stringContaining(join(t.home, 'nope')),
    });
    await expect(client.call('fs.readDirectory', { path: 'hello.txt' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('not a directory'),
    });
    await expect(client.call('fs.readDirectory', { path: '' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('fs.readDirectory', { path: '.', limit: 0 })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('limit'),
    });
    await expect(
      client.call('fs.readDirectory', { path: '.', cursor: 'not a cursor!' }),
    ).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('fs.readDirectory', {} as never)).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
  });
});

describe('fs.readFile', () => {
  it('reads inline with the hash of the whole file, and ranges without it', async () => {
    const whole = await client.call('fs.readFile', { path: 'hello.txt' });
    expect(whole).toMatchObject({ content: 'hello world\n', encoding: 'utf8', size: 12, length: 12 });
    expect(whole.hash).toBe(hashBytes(Buffer.from('hello world\n')));
    const part = await client.call('fs.readFile', { path: join(t.home, 'hello.txt'), offset: 6, length: 5 });
    expect(part).toMatchObject({ content: 'world', length: 5 });
    expect(part.hash).toBeUndefined();
    const b64 = await client.call('fs.readFile', { path: 'hello.txt', encoding: 'base64', length: 5 });
    expect(Buffer.from(b64.content!, 'base64').toString()).toBe('hello');
  });

  it('follows symlinks and reads /proc files whose size is 0', async () => {
    expect((await client.call('fs.readFile', { path: 'link' })).content).toBe('hello world\n');
    const self = await client.call('fs.readFile', { path: '/proc/self/status' });
    expect(self.content).toContain('Name:');
  });

  it('streams a large file in binary frames ending with its size and hash', async () => {
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    await writeFile(join(t.home, 'big.bin'), bytes);
    await expect(client.call('fs.readFile', { path: 'big.bin' })).rejects.toMatchObject({
      code: ErrorCode.TooLarge,
      message: expect.stringContaining('stream: true'),
    });
    const result = await client.call('fs.readFile', { path: 'big.bin', stream: true });
    expect(result.content).toBeUndefined();
    const reader = client.openReader(result.streamId!);
    const chunks: Buffer[] = [];
    for await (const chunk of reader) {
      expect(chunk).toBeInstanceOf(Uint8Array);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    expect(await reader.done).toEqual({ bytes: bytes.length, hash: hashBytes(bytes) });
  });

  it('stops reading and closes the file when the reader cancels', async () => {
    await writeFile(join(t.home, 'cancel.bin'), Buffer.alloc(8 * 1024 * 1024, 1));
    const openFiles = async () => (await readdir('/proc/self/fd')).length;
    // Its own connection: data already in flight when the cancel is sent must not hold up others.
    const c = await t.connect('readonly');
    const before = await openFiles();
    const result = await c.call('fs.readFile', { path: 'cancel.bin', stream: true });
    const reader = c.openReader(result.streamId!);
    for await (const _ of reader) break; // one chunk, then cancel
    await expect(reader.done).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    await expect.poll(openFiles, { timeout: 20_000 }).toBeLessThanOrEqual(before);
  });

  it('refuses bad input clearly', async () => {
    await expect(client.call('fs.readFile', { path: 'missing.txt' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await expect(client.call('fs.readFile', { path: 'sub' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('is a directory'),
    });
    await expect(client.call('fs.readFile', { path: 'dangling' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    await expect(client.call('fs.readFile', { path: 'hello.txt', offset: -1 })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await writeFile(join(t.home, 'binary'), Buffer.from([0xff, 0xfe, 0x00]));
    await expect(client.call('fs.readFile', { path: 'binary' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining('base64'),
    });
  });
});

describe('fs.getInfo, glob, uniquePath, getDiskInfo, getPathSize', () => {
  it('fs.getInfo describes one path and hashes on request', async () => {
    const info = await client.call('fs.getInfo', { path: 'hello.txt', hash: true });
    expect(info).toMatchObject({ name: 'hello.txt', type: 'file', size: 12 });
    expect(info.hash).toBe(hashBytes(Buffer.from('hello world\n')));
    expect((await client.call('fs.getInfo', { path: 'sub' })).hash).toBeUndefined();
    await expect(client.call('fs.getInfo', { path: 'nope' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('fs.glob matches under a directory, with a limit', async () => {
    const dir = join(t.dir, 'globbed');
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await Promise.all(
      ['x.ts', 'a/y.ts', 'a/b/z.ts', 'a/b/w.js', '.hidden.ts'].map((f) => writeFile(join(dir, f), '')),
    );
    expect((await client.call('fs.glob', { patterns: '**/*.ts', cwd: dir })).matches).toEqual([
      'a/b/z.ts',
      'a/y.ts',
      'x.ts',
    ]);
    const dotted = await client.call('fs.glob', { patterns: ['*.ts'], cwd: dir, dot: true });
    expect(dotted.matches).toEqual(['.hidden.ts', 'x.ts']);
    const limited = await client.call('fs.glob', { patterns: '**/*', cwd: dir, limit: 2, onlyFiles: true });
    expect(limited).toMatchObject({ cwd: dir, truncated: true });
    expect(limited.matches).toHaveLength(2);
    await expect(client.call('fs.glob', { patterns: '*', cwd: 'hello.txt' })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    await expect(client.call('fs.glob', { patterns: [] })).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
  });

  it('fs.uniquePath finds a free name next to a taken one', async () => {
    expect((await client.call('fs.uniquePath', { path: 'free.txt' })).path).toBe(join(t.home, 'free.txt'));
    expect((await client.call('fs.uniquePath', { path: 'hello.txt' })).path).toBe(
      join(t.home, 'hello-1.txt'),
    );
    await writeFile(join(t.home, 'hello-1.txt'), '');
    expect((await client.call('fs.uniquePath', { path: 'hello.txt' })).path).toBe(
      join(t.home, 'hello-2.txt'),
    );
    expect((await client.call('fs.uniquePath', { path: 'sub' })).path).toBe(join(t.home, 'sub-1'));
  });

  it('fs.getDiskInfo reports the filesystem of a path', async () => {
    const disk = await client.call('fs.getDiskInfo', {});
    expect(disk.path).toBe(t.home);
    expect(disk.total).toBeGreaterThan(0);
    expect(disk.available).toBeLessThanOrEqual(disk.total);
    await expect(client.call('fs.getDiskInfo', { path: 'nope' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });

  it('fs.getPathSize totals a tree without following symlinks', async () => {
    const dir = join(t.dir, 'sized');
    await mkdir(join(dir, 'inner'), { recursive: true });
    await writeFile(join(dir, 'a'), Buffer.alloc(1000));
    await writeFile(join(dir, 'inner', 'b'), Buffer.alloc(24));
    await symlink('/usr', join(dir, 'usr-link'));
    const size = await client.call('fs.getPathSize', { path: dir });
    expect(size).toMatchObject({ files: 3, directories: 2, unreadable: 0 });
    expect(size.bytes).toBeGreaterThanOrEqual(1024);
    expect(size.bytes).toBeLessThan(1024 + 3 * 4096 + 100);
    await expect(client.call('fs.getPathSize', { path: 'nope' })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
  });
});
