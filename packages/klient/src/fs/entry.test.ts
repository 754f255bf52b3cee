import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, describe as group, it } from 'vitest';
import { describe } from './entry.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-entry-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

group('describe', () => {
  it('reports links with their target, and broken ones', async () => {
    await writeFile(join(dir, 'f'), 'abc');
    await chmod(join(dir, 'f'), 0o640);
    await symlink('f', join(dir, 'l'));
    await symlink('nowhere', join(dir, 'b'));
    expect(await describe(join(dir, 'f'))).toMatchObject({ name: 'f', type: 'file', size: 3, mode: 0o640 });
    expect(await describe(join(dir, 'l'))).toMatchObject({
      type: 'symlink',
      target: 'f',
      targetType: 'file',
      broken: false,
    });
    expect(await describe(join(dir, 'b'))).toMatchObject({
      type: 'symlink',
      broken: true,
      readable: false,
      writable: false,
    });
  });

  it.skipIf(process.getuid?.() !== 0)('says nothing on a read-only filesystem is writable', async () => {
    const mount = join(dir, 'ro');
    await mkdir(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
    try {
      await writeFile(join(mount, 'file'), 'x');
      execFileSync('mount', ['-o', 'remount,ro', mount]);
      expect(await describe(join(mount, 'file'))).toMatchObject({ readable: true, writable: false });
    } finally {
      execFileSync('umount', [mount]);
    }
  });
});
