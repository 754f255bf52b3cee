/**
 * Permission denied, for real: Klient runs as `nobody` (tests run as root, which the kernel lets
 * do anything) against files root owns. Every refusal is Forbidden, names the path, and
 * changes nothing.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpawnedKlient, spawnKlient } from '../testing/harness.js';

const NOBODY = 65534;
let dir: string;
let home: string;
let klient: SpawnedKlient;
let client: RpcClient;
const at = (...parts: string[]) => join(home, ...parts);

const forbidden = (path: string) => ({ code: ErrorCode.Forbidden, message: expect.stringContaining(path) });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-denied-'));
  await chmod(dir, 0o755);
  home = join(dir, 'home');
  await mkdir(home);
  await chown(home, NOBODY, NOBODY);
  await writeFile(at('secret'), 'root only');
  await chmod(at('secret'), 0o600);
  await writeFile(at('readonly.txt'), 'keep me');
  await chmod(at('readonly.txt'), 0o644);
  await mkdir(at('locked'));
  await writeFile(at('locked', 'inside'), 'inside');
  await chmod(at('locked'), 0o755);
  await mkdir(at('private'), { mode: 0o700 });
  await writeFile(at('not-executable'), '#!/bin/sh\necho hi\n');
  await chmod(at('not-executable'), 0o644);
  klient = await spawnKlient({ dir, home, user: 'nobody' });
  client = await klient.connect('owner');
}, 60_000);
afterAll(async () => {
  await klient?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('as an unprivileged user', () => {
  it('runs as nobody', async () => {
    expect((await client.call('klient.info', {})).user.uid).toBe(NOBODY);
  });

  it('reads: Forbidden for unreadable files and directories; entries say what is allowed', async () => {
    await expect(client.call('fs.readFile', { path: 'secret' })).rejects.toMatchObject(
      forbidden(at('secret')),
    );
    await expect(client.call('fs.readDirectory', { path: 'private' })).rejects.toMatchObject(
      forbidden(at('private')),
    );
    await expect(client.call('fs.getInfo', { path: 'secret', hash: true })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    const { entries } = await client.call('fs.readDirectory', { path: '.' });
    expect(entries.find((e) => e.name === 'secret')).toMatchObject({ readable: false, writable: false });
    expect(entries.find((e) => e.name === 'readonly.txt')).toMatchObject({ readable: true, writable: false });
  });

  it('writes: Forbidden, and nothing changes', async () => {
    await expect(client.call('fs.writeFile', { path: 'readonly.txt', content: 'x' })).rejects.toMatchObject(
      forbidden(at('readonly.txt')),
    );
    await expect(
      client.call('fs.writeFile', { path: 'readonly.txt', content: 'x', append: true }),
    ).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(client.call('fs.writeFile', { path: 'locked/new', content: 'x' })).rejects.toMatchObject(
      forbidden(at('locked', 'new')),
    );
    await expect(client.call('fs.openWrite', { path: 'locked/inside' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(client.call('fs.createDirectory', { path: 'locked/d' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(client.call('fs.remove', { path: 'locked/inside' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(client.call('fs.rename', { from: 'locked/inside', to: 'moved' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(client.call('fs.copy', { from: 'readonly.txt', to: 'locked/copy' })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(
      client.call('fs.setPermissions', { path: 'readonly.txt', mode: 0o777 }),
    ).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    expect(await readFile(at('readonly.txt'), 'utf8')).toBe('keep me');
    expect((await stat(at('readonly.txt'))).mode & 0o777).toBe(0o644);
    expect(await readdir(at('locked'))).toEqual(['inside']);
    expect((await readdir(home)).filter((n) => n.includes('.klient-') || n === 'moved')).toEqual([]);
  });

  it('exec: Forbidden for a program without the execute bit, NotFound for a missing one', async () => {
    await expect(client.call('exec.run', { argv: [at('not-executable')] })).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
    });
    await expect(client.call('exec.run', { argv: ['no-such-program-klient'] })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
      message: expect.stringContaining('no-such-program-klient'),
    });
    expect((await client.call('exec.run', { argv: ['id', '-u'] })).stdout.trim()).toBe(String(NOBODY));
  });
});
