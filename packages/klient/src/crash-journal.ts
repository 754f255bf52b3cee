/**
 * What a crash leaves behind is cleaned up at the next start. Work that would leave something
 * for good if Klient were killed mid-way (a write's temp file, a process group it started)
 * records it here first and drops the record once it is done with it; Klient, when it starts,
 * hands each record that outlived its process to that kind's cleanup.
 *
 * Records live in one directory per kind and process,
 * `<state dir>/<kind>/<boot id>-<pid namespace>-<pid>-<start time>`, so a Klient that starts
 * while another runs on the same account cleans up only after processes that are gone: the boot
 * id and start time make a reused pid a different owner, and an owner in another pid namespace
 * (a container sharing the home) cannot be looked up, so it is never swept. The state directory
 * must be the account's own and writable by nobody else; only regular files named like records
 * are read. The journal never costs the work it records: a record that cannot be made is
 * reported, and the work goes on. Records are not fsynced: they survive a killed process, not a
 * power cut (after which nothing they name is left to clean anyway but temp files).
 */
import { randomBytes } from 'node:crypto';
import { constants, type Dirent, readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from './private-dir.js';

/** Where work records what it would leave behind; `record` resolves with the call that drops it. */
export interface Journal {
  record(what: string): Promise<() => Promise<void>>;
}

/** A journal that records nothing: where there is no usable state directory. */
export const unrecorded: Journal = { record: async () => async () => {} };

/**
 * Cleans up after one record of a process that is gone; resolves with what it cleaned (for the
 * log) or undefined when there was nothing left to clean or nothing it may touch. `sameBoot`
 * says whether the record was made since this machine last booted: pids and start times of
 * another boot name nothing running now.
 */
export type Cleanup = (record: string, from: { sameBoot: boolean }) => Promise<string | undefined>;

const RECORD = /^[0-9a-f]{16}$/;
/** A record holds one short line; anything longer is not ours. */
const MAX_RECORD_BYTES = 4096;

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
const startTimeIn = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];

/** When `pid` started (see startTimeIn), or undefined when there is no such process. */
export async function startTimeOf(pid: number | 'self'): Promise<string | undefined> {
  try {
    return startTimeIn(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * startTimeOf, synchronously: read right after spawning a child, before the event loop can reap
 * it, it is surely the child's and not a later process's that was given the same pid.
 */
export function startTimeOfSync(pid: number): string | undefined {
  try {
    return startTimeIn(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** This process's owner name does not change: read once, however many kinds of records open. */
let owner: Promise<Owner | undefined> | undefined;
const currentOwner = () => (owner ??= readOwner());

async function readOwner(): Promise<Owner | undefined> {
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

export class CrashJournal implements Journal {
  private constructor(
    private readonly dir: string,
    private readonly onRecordFailure: (error: unknown) => void,
  ) {}

  /**
   * Opens this process's `kind` records under `stateDir`, first handing those of processes that
   * are gone to `cleanup`. Resolves with the journal and what was cleaned; rejects when
   * `stateDir` is not a private directory of this account. Without /proc (not Linux) there is no
   * way to tell a live owner from a dead one: nothing is recorded or cleaned.
   */
  static async open(
    stateDir: string,
    kind: string,
    cleanup: Cleanup,
    onRecordFailure: (error: unknown) => void = () => {},
  ): Promise<{ journal: Journal; cleaned: string[] }> {
    const self = await currentOwner();
    if (!self) return { journal: unrecorded, cleaned: [] };
    ensurePrivateDir(stateDir);
    const root = join(stateDir, kind);
    ensurePrivateDir(root);
    const cleaned: string[] = [];
    for (const entry of await readdir(root, { withFileTypes: true })) {
      // Only real directories named like owners: a symlink here must not lead the sweep elsewhere.
      const owner = entry.isDirectory() ? parseOwner(entry.name) : undefined;
      if (!owner || entry.name === ownerName(self) || !(await isGone(owner, self))) continue;
      // One bad entry costs only itself: the rest is still swept, and Klient still starts.
      const from = { sameBoot: owner.boot === self.boot };
      cleaned.push(
        ...(await sweep(join(root, entry.name), (record) => cleanup(record, from)).catch(() => [])),
      );
    }
    const dir = join(root, ownerName(self));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return { journal: new CrashJournal(dir, onRecordFailure), cleaned };
  }

  async record(what: string): Promise<() => Promise<void>> {
    const file = join(this.dir, randomBytes(8).toString('hex'));
    try {
      // The directory may have been removed while Klient ran: made again once.
      await writeFile(file, what, { mode: 0o600 }).catch(async () => {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        await writeFile(file, what, { mode: 0o600 });
      });
    } catch (error) {
      this.onRecordFailure(error);
      return async () => {};
    }
    return () => unlink(file).catch(() => {});
  }
}

/** A record's text, if it is a regular file of the right shape (never a FIFO or a link). */
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

/** Cleans up after each record in `dir` (a dead process's), then removes the records and `dir`. */
async function sweep(
  dir: string,
  cleanup: (record: string) => Promise<string | undefined>,
): Promise<string[]> {
  const cleaned: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const record = await readRecord(dir, entry).catch(() => undefined);
    if (record === undefined) continue;
    // Nothing left or nothing ours: either way, done; a start must not fail over a leftover.
    const done = await cleanup(record).catch(() => undefined);
    if (done !== undefined) cleaned.push(done);
    await unlink(join(dir, entry.name)).catch(() => {});
  }
  await rmdir(dir).catch(() => {});
  return cleaned;
}
