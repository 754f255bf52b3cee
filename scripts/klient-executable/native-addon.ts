/**
 * Runtime half of the klient single executable: loads a native addon (node-pty's pty.node) that
 * travels inside the executable as a SEA asset.
 *
 * A shared object can only be loaded from a file, so the asset is written once to a private,
 * content-addressed cache directory (`<root>/<sha256>/<name>.node`) and loaded from there with
 * `process.dlopen`. The bytes are checked against the hash recorded at build time both in the
 * executable and on disk, and a directory we do not own, or that others can write to, is never
 * used: whoever can write there could otherwise get their code loaded into the agent.
 *
 * This file is bundled into the executable by scripts/build-klient.ts; it is not part of a package.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { accountHome } from '@kk/klient/home.js';
import { ensurePrivateDir } from '@kk/klient/private-dir.js';

/** One addon the build put into the executable: the asset key and the sha256 of its bytes. */
export interface BundledAddon {
  asset: string;
  sha256: string;
}

/** What node-pty's own loader returns: the directory it loaded from and the module's exports. */
export interface LoadedAddon {
  dir: string;
  module: unknown;
}

export class NativeAddonError extends Error {
  override name = 'NativeAddonError';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Candidate cache roots, most preferred first. `env -i` leaves no HOME and no XDG_CACHE_HOME,
 * which is why the per-user directory under the system temp dir is always on the list.
 */
export function cacheRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const roots: string[] = [];
  if (env.XDG_CACHE_HOME?.startsWith('/')) roots.push(join(env.XDG_CACHE_HOME, 'klient'));
  const home = env.HOME ?? accountHome();
  if (home?.startsWith('/')) roots.push(join(home, '.cache', 'klient'));
  roots.push(join(tmpdir(), `klient-${process.getuid?.() ?? 'user'}`));
  return roots;
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes `bytes` to `file` through a temporary name and a rename, so a reader never sees half a file. */
function writeAtomically(file: string, bytes: Uint8Array): void {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(temp, 'wx', 0o500);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/**
 * Puts `bytes` at `<root>/<sha256>/<fileName>` under the first usable root, hands the path to
 * `use` (which loads it), and returns what `use` returns. A root is skipped when it is not
 * private or when `use` fails there: `/tmp` is often mounted noexec, where dlopen refuses. A file
 * already in place is reused only when its hash matches; otherwise it is replaced.
 */
export function materialiseAddon<T>(
  bytes: Uint8Array,
  expectedSha256: string,
  fileName: string,
  roots: string[],
  use: (file: string) => T,
): T {
  const problems: string[] = [];
  for (const root of roots) {
    try {
      ensurePrivateDir(root);
      const dir = join(root, expectedSha256);
      ensurePrivateDir(dir);
      const file = join(dir, fileName);
      const existing = readIfPresent(file);
      if (!existing || sha256(existing) !== expectedSha256) writeAtomically(file, bytes);
      return use(file);
    } catch (err) {
      problems.push(`${root}: ${(err as Error).message}`);
    }
  }
  throw new NativeAddonError(
    `cannot load ${fileName} from any private cache directory: ${problems.join('; ')}`,
  );
}

/** Loads a shared object from `file` the way `require` would, without needing a module resolver. */
function dlopen(file: string): LoadedAddon {
  const mod = { exports: {} as unknown };
  process.dlopen(mod, file);
  return { dir: join(file, '..'), module: mod.exports };
}

/**
 * Loads the addon the build recorded under `name` from the executable's assets.
 * Fails with a clear error outside a single executable (there are no assets to load from).
 */
export function loadBundledAddon(name: string, addons: Record<string, BundledAddon>): LoadedAddon {
  const spec = addons[name];
  if (!spec) throw new NativeAddonError(`native addon ${name} was not bundled into this executable`);
  if (!isSea())
    throw new NativeAddonError(`native addon ${name} is only available inside the klient executable`);
  const bytes = new Uint8Array(getAsset(spec.asset));
  if (sha256(bytes) !== spec.sha256)
    throw new NativeAddonError(`asset ${spec.asset} is corrupt: its sha256 differs from the build's`);
  return materialiseAddon(bytes, spec.sha256, `${name}.node`, cacheRoots(), dlopen);
}
