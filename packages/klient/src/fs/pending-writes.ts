/**
 * What a crash leaves behind is cleaned up at the next start. A write puts its bytes in a temp
 * file beside the target (atomic-write.ts); a Klient killed mid-write would leave that file there
 * for good. So each write first records the temp file's path here and drops the record once the
 * temp file is renamed or removed, and Klient, when it starts, removes the temp files whose
 * records outlived their process.
 *
 * Records live in one directory per process, `<state dir>/pending-writes/<boot>-<pid>-<start>`
 * (the boot id and the process's start time make a reused pid a different owner), so a Klient
 * that starts while another runs on the same account sweeps only the writes of processes that
 * are gone. A record is a file holding one path, and only a path named like Klient's temp files
 * is ever removed. Records are not fsynced: they survive a killed process, not a power cut.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Where a write records its temp file; `record` resolves with the call that drops the record. */
export interface TempFileJournal {
  record(temp: string): Promise<() => Promise<void>>;
}

/** A journal that records nothing: where there is no state directory or no way to tell owners apart. */
export const unrecorded: TempFileJournal = { record: async () => async () => {} };

/** `.<name>.klient-<12 hex>.tmp`, as atomic-write.ts names them. */
const TEMP_FILE = /^\..+\.klient-[0-9a-f]{12}\.tmp$/;

/** The temp file name for a write to `name`. */
export function tempFileName(name: string): string {
  return `.${name}.klient-${randomBytes(6).toString('hex')}.tmp`;
}

/** This boot, this pid, this process's start: the owner of a records directory. */
interface Owner {
  boot: string;
  pid: number;
  start: string;
}

const ownerName = (o: Owner) => `${o.boot}-${o.pid}-${o.start}`;

function parseOwner(name: string): Owner | undefined {
  const m = /^([0-9a-f]{32})-(\d+)-(\d+)$/.exec(name);
  return m ? { boot: m[1]!, pid: Number(m[2]), start: m[3]! } : undefined;
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
    const start = await startTimeOf('self');
    return start ? { boot, pid: process.pid, start } : undefined;
  } catch {
    return undefined;
  }
}

async function isGone(owner: Owner, self: Owner): Promise<boolean> {
  if (owner.boot !== self.boot) return true;
  return (await startTimeOf(owner.pid)) !== owner.start;
}

export class PendingWrites implements TempFileJournal {
  private constructor(private readonly dir: string) {}

  /**
   * Opens this process's records under `stateDir`, first sweeping those of processes that are
   * gone. Resolves with the journal and the temp files removed. Without /proc (not Linux) there
   * is no way to tell a live owner from a dead one: nothing is recorded or swept.
   */
  static async open(stateDir: string): Promise<{ journal: TempFileJournal; removed: string[] }> {
    const self = await currentOwner();
    if (!self) return { journal: unrecorded, removed: [] };
    const root = join(stateDir, 'pending-writes');
    await mkdir(root, { recursive: true, mode: 0o700 });
    const removed: string[] = [];
    for (const name of await readdir(root)) {
      const owner = parseOwner(name);
      if (!owner || name === ownerName(self) || !(await isGone(owner, self))) continue;
      removed.push(...(await sweep(join(root, name))));
    }
    const dir = join(root, ownerName(self));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return { journal: new PendingWrites(dir), removed };
  }

  async record(temp: string): Promise<() => Promise<void>> {
    const file = join(this.dir, randomBytes(8).toString('hex'));
    await writeFile(file, temp, { mode: 0o600 });
    return () => unlink(file).catch(() => {});
  }
}

/** Removes the temp files recorded in `dir` (a dead process's), then the records and `dir`. */
async function sweep(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const record of await readdir(dir)) {
    const temp = await readFile(join(dir, record), 'utf8').catch(() => '');
    if (TEMP_FILE.test(basename(temp))) {
      // Gone already (the crash came after the rename) or not ours to remove: either way, done;
      // a start must not fail over a leftover.
      if (
        await unlink(temp).then(
          () => true,
          () => false,
        )
      )
        removed.push(temp);
    }
    await rm(join(dir, record), { force: true });
  }
  await rmdir(dir).catch(() => {});
  return removed;
}
