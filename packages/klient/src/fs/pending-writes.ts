/**
 * What a crash leaves behind is cleaned up at the next start. A write puts its bytes in a temp
 * file beside the target (atomic-write.ts); a Klient killed mid-write would leave that file there
 * for good. So each write first records the temp file's path here and drops the record once the
 * temp file is renamed or removed, and Klient, when it starts, removes the temp files whose
 * records outlived their process.
 *
 * Records live in one directory per process,
 * `<state dir>/pending-writes/<boot id>-<pid namespace>-<pid>-<start time>`, so a Klient that
 * starts while another runs on the same account sweeps only the writes of processes that are
 * gone: the boot id and start time make a reused pid a different owner, and an owner in another
 * pid namespace (a container sharing the home) cannot be looked up, so it is never swept. The
 * state directory must be the account's own and writable by nobody else; only regular files
 * named like records are read, and only paths named like Klient's temp files are removed. The
 * journal never costs a write: a record that cannot be made is reported, and the write goes on.
 * Records are not fsynced: they survive a killed process, not a power cut.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ensurePrivateDir } from '../private-dir.js';

/** Where a write records its temp file; `record` resolves with the call that drops the record. */
export interface TempFileJournal {
  record(temp: string): Promise<() => Promise<void>>;
}

/** A journal that records nothing: where there is no usable state directory. */
export const unrecorded: TempFileJournal = { record: async () => async () => {} };

/** `.<name>.klient-<12 hex>.tmp`, as atomic-write.ts names them. */
const TEMP_FILE = /^\..+\.klient-[0-9a-f]{12}\.tmp$/;
const RECORD = /^[0-9a-f]{16}$/;
/** A record holds one path; anything longer is not ours. */
const MAX_RECORD_BYTES = 4096;

/** The temp file name for a write to `name`. */
export function tempFileName(name: string): string {
  return `.${name}.klient-${randomBytes(6).toString('hex')}.tmp`;
}

/** This boot, this pid namespace, this pid, this process's start: the owner of a records directory. */
interface Owner {
  boot: string;
  pidNs: string;
  pid: number;
  start: string;
}

const ownerName = (o: Owner) => `${o.boot}-${o.pidNs}-${o.pid}-${o.start}`;

function parseOwner(name: string): Owner | undefined {
  const m = /^([0-9a-f]{32})-(\d+)-(\d+)-(\d+)$/.exec(name);
  return m ? { boot: m[1]!, pidNs: m[2]!, pid: Number(m[3]), start: m[4]! } : undefined;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
async function startTimeOf(pid: number | 'self'): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function currentOwner(): Promise<Owner | undefined> {
  try {
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim().replaceAll('-', '');
    // The namespace's inode: pids are only comparable within one pid namespace.
    const pidNs = String((await stat('/proc/self/ns/pid')).ino);
    const start = await startTimeOf('self');
    return start ? { boot, pidNs, pid: process.pid, start } : undefined;
  } catch {
    return undefined;
  }
}

/** Gone for sure: another boot, or the same pid namespace without that pid at that start time. */
async function isGone(owner: Owner, self: Owner): Promise<boolean> {
  if (owner.boot !== self.boot) return true;
  if (owner.pidNs !== self.pidNs) return false;
  return (await startTimeOf(owner.pid)) !== owner.start;
}

export class PendingWrites implements TempFileJournal {
  private constructor(
    private readonly dir: string,
    private readonly onRecordFailure: (error: unknown) => void,
  ) {}

  /**
   * Opens this process's records under `stateDir`, first sweeping those of processes that are
   * gone. Resolves with the journal and the temp files removed; rejects when `stateDir` is not a
   * private directory of this account. Without /proc (not Linux) there is no way to tell a live
   * owner from a dead one: nothing is recorded or swept.
   */
  static async open(
    stateDir: string,
    onRecordFailure: (error: unknown) => void = () => {},
  ): Promise<{ journal: TempFileJournal; removed: string[] }> {
    const self = await currentOwner();
    if (!self) return { journal: unrecorded, removed: [] };
    ensurePrivateDir(stateDir);
    const root = join(stateDir, 'pending-writes');
    ensurePrivateDir(root);
    const removed: string[] = [];
    for (const entry of await readdir(root, { withFileTypes: true })) {
      // Only real directories named like owners: a symlink here must not lead the sweep elsewhere.
      const owner = entry.isDirectory() ? parseOwner(entry.name) : undefined;
      if (!owner || entry.name === ownerName(self) || !(await isGone(owner, self))) continue;
      // One bad entry costs only itself: the rest is still swept, and Klient still starts.
      removed.push(...(await sweep(join(root, entry.name)).catch(() => [])));
    }
    const dir = join(root, ownerName(self));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return { journal: new PendingWrites(dir, onRecordFailure), removed };
  }

  async record(temp: string): Promise<() => Promise<void>> {
    const file = join(this.dir, randomBytes(8).toString('hex'));
    try {
      // The directory may have been removed while Klient ran: made again once.
      await writeFile(file, temp, { mode: 0o600 }).catch(async () => {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        await writeFile(file, temp, { mode: 0o600 });
      });
    } catch (error) {
      this.onRecordFailure(error);
      return async () => {};
    }
    return () => unlink(file).catch(() => {});
  }
}

/** The path a record holds, if it is a regular file of the right shape (never a FIFO or a link). */
async function readRecord(dir: string, entry: Dirent): Promise<string | undefined> {
  if (!entry.isFile() || !RECORD.test(entry.name)) return undefined;
  const handle = await open(
    join(dir, entry.name),
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  ).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_RECORD_BYTES) return undefined;
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Removes the temp files recorded in `dir` (a dead process's), then its records and `dir`. */
async function sweep(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const temp = await readRecord(dir, entry).catch(() => undefined);
    if (temp === undefined) continue;
    // Gone already (the crash came after the rename) or not ours to remove: either way, done;
    // a start must not fail over a leftover.
    if (
      TEMP_FILE.test(basename(temp)) &&
      (await unlink(temp).then(
        () => true,
        () => false,
      ))
    )
      removed.push(temp);
    await unlink(join(dir, entry.name)).catch(() => {});
  }
  await rmdir(dir).catch(() => {});
  return removed;
}
