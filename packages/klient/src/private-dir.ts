/**
 * A directory only this account can write to, for what Klient keeps for itself: the records of
 * writes in progress (fs/pending-writes.ts) and the cache its executable loads native addons
 * from (scripts/klient-executable/native-addon.ts). Whoever could write there could make Klient
 * remove files or load code, so a directory that is not private is refused, never used.
 */
import { lstatSync, mkdirSync } from 'node:fs';

/** Creates `dir` (mode 0700) if missing and proves it is a real directory, ours, that nobody else can write to. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) throw new Error(`${dir} is owned by uid ${st.uid}, not ${uid}`);
  if ((st.mode & 0o022) !== 0) throw new Error(`${dir} is writable by others`);
}
