import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheRoots, materialiseAddon, NativeAddonError } from '../scripts/klient-executable/native-addon.js';

const bytes = new TextEncoder().encode('not really a shared object, but bytes with a hash');
const sha = createHash('sha256').update(bytes).digest('hex');
/** What the loader is handed; the executable's test proves the real dlopen. */
const asPath = (file: string) => file;

describe('klient executable: native addon cache', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'kk-native-cache-'));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('writes the addon under <root>/<sha256>/ in directories only the owner can enter', async () => {
    const root = join(base, 'cache');
    const file = materialiseAddon(bytes, sha, 'pty.node', [root], asPath);
    expect(file).toBe(join(root, sha, 'pty.node'));
    expect(new Uint8Array(await readFile(file))).toEqual(bytes);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, sha))).mode & 0o777).toBe(0o700);
  });

  it('reuses a file whose hash matches and replaces one that was tampered with', async () => {
    const root = join(base, 'cache');
    const file = materialiseAddon(bytes, sha, 'pty.node', [root], asPath);
    const first = (await stat(file)).ino;
    expect(materialiseAddon(bytes, sha, 'pty.node', [root], asPath)).toBe(file);
    expect((await stat(file)).ino).toBe(first);

    await chmod(file, 0o700);
    await writeFile(file, 'planted');
    expect(materialiseAddon(bytes, sha, 'pty.node', [root], asPath)).toBe(file);
    expect(new Uint8Array(await readFile(file))).toEqual(bytes);
  });

  it('skips a root that others can write to, or that is a symlink, and uses the next one', async () => {
    const open = join(base, 'open');
    await mkdir(open, { mode: 0o777 });
    await chmod(open, 0o777);
    const elsewhere = join(base, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o700 });
    const link = join(base, 'link');
    await symlink(elsewhere, link);
    const good = join(base, 'good');
    expect(materialiseAddon(bytes, sha, 'pty.node', [open, link, good], asPath)).toBe(
      join(good, sha, 'pty.node'),
    );
  });

  it('moves on to the next root when loading fails in one (a noexec /tmp refuses dlopen)', async () => {
    const first = join(base, 'noexec');
    const second = join(base, 'fine');
    const tried: string[] = [];
    const loaded = materialiseAddon(bytes, sha, 'pty.node', [first, second], (file) => {
      tried.push(file);
      if (file.startsWith(first)) throw new Error('failed to map segment from shared object');
      return `loaded ${file}`;
    });
    expect(tried).toEqual([join(first, sha, 'pty.node'), join(second, sha, 'pty.node')]);
    expect(loaded).toBe(`loaded ${join(second, sha, 'pty.node')}`);
  });

  it('names every root it tried when none is usable', () => {
    const notADir = join(base, 'file');
    return writeFile(notADir, '').then(() => {
      expect(() => materialiseAddon(bytes, sha, 'pty.node', [join(notADir, 'x')], asPath)).toThrow(
        NativeAddonError,
      );
      expect(() => materialiseAddon(bytes, sha, 'pty.node', [join(notADir, 'x')], asPath)).toThrow(notADir);
    });
  });

  it('prefers XDG_CACHE_HOME, then HOME, and always offers a per-user temp directory', () => {
    const roots = cacheRoots({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' });
    expect(roots.slice(0, 2)).toEqual(['/x/cache/klient', '/home/u/.cache/klient']);
    expect(roots.at(-1)).toBe(join(tmpdir(), `klient-${process.getuid!()}`));
    expect(cacheRoots({ XDG_CACHE_HOME: 'relative' }).some((r) => r.startsWith('relative'))).toBe(false);
  });
});
