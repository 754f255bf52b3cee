import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicWrite, type WriteOptions } from './atomic-write.js';
import { PendingWrites, tempFileName } from './pending-writes.js';

let dir: string;
let state: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-pending-'));
  state = join(dir, 'state');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
const bootId = async () =>
  (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim().replaceAll('-', '');
const pidNs = async () => String((await stat('/proc/self/ns/pid')).ino);
const startOf = async (pid: number) => {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]!;
};
/** pid_max is at most 2^22: this pid cannot be running. */
const deadOwner = async () => `${await bootId()}-${await pidNs()}-4194305-12345`;

/** Records `temps` as another process (`owner`) would have. */
async function recordAs(owner: string, temps: string[]): Promise<string> {
  const records = join(state, 'pending-writes', owner);
  await mkdir(records, { recursive: true, mode: 0o700 });
  for (const [i, temp] of temps.entries()) await writeFile(join(records, `${i}`.padStart(16, '0')), temp);
  return records;
}

const ownRecords = async () => {
  const root = join(state, 'pending-writes');
  const [own, ...others] = await readdir(root);
  expect(others).toEqual([]);
  return readdir(join(root, own!));
};

const replace: WriteOptions = { append: false, ifNotExists: false, createParents: false };

describe.skipIf(!existsSync('/proc/self/stat'))('PendingWrites', () => {
  it('records a temp file until the write forgets it', async () => {
    const { journal } = await PendingWrites.open(state);
    const forget = await journal.record(join(dir, tempFileName('a.txt')));
    expect(await ownRecords()).toHaveLength(1);
    await forget();
    expect(await ownRecords()).toHaveLength(0);
  });

  it('leaves no record after a commit, an abort, a refused commit or a refused begin', async () => {
    const { journal } = await PendingWrites.open(state);
    const target = join(dir, 'f.txt');
    const committed = await AtomicWrite.begin(target, replace, journal);
    await committed.write(Buffer.from('new'));
    await committed.commit();
    const aborted = await AtomicWrite.begin(target, replace, journal);
    await aborted.abort();
    const conflicting = await AtomicWrite.begin(
      join(dir, 'g.txt'),
      { ...replace, ifNotExists: true },
      journal,
    );
    await writeFile(join(dir, 'g.txt'), 'someone else');
    await expect(conflicting.commit()).rejects.toThrow(/already exists/);
    await expect(AtomicWrite.begin(join(dir, 'no', 'such', 'dir.txt'), replace, journal)).rejects.toThrow();
    expect(await ownRecords()).toEqual([]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it("removes the temp files of a process that is gone, and only files named like Klient's temp files", async () => {
    const leftover = join(dir, tempFileName('data.txt'));
    const notATemp = join(dir, 'data.txt');
    await writeFile(leftover, 'half a write');
    await writeFile(notATemp, 'a user file');
    await recordAs(await deadOwner(), [leftover, notATemp, join(dir, tempFileName('gone'))]);
    const { removed } = await PendingWrites.open(state);
    expect(removed).toEqual([leftover]);
    expect(await exists(leftover)).toBe(false);
    expect(await exists(notATemp)).toBe(true);
    expect(await readdir(join(state, 'pending-writes'))).toHaveLength(1);
  });

  it('leaves the records of a live process alone (two Klients on one account)', async () => {
    const inProgress = join(dir, tempFileName('busy.txt'));
    await writeFile(inProgress, 'being written');
    await recordAs(`${await bootId()}-${await pidNs()}-${process.ppid}-${await startOf(process.ppid)}`, [
      inProgress,
    ]);
    const { removed } = await PendingWrites.open(state);
    expect(removed).toEqual([]);
    expect(await exists(inProgress)).toBe(true);
  });

  it('leaves an owner in another pid namespace alone: its pid means nothing here', async () => {
    const inProgress = join(dir, tempFileName('container.txt'));
    await writeFile(inProgress, 'being written in a container');
    await recordAs(`${await bootId()}-1-4194305-12345`, [inProgress]);
    expect((await PendingWrites.open(state)).removed).toEqual([]);
    expect(await exists(inProgress)).toBe(true);
  });

  it('treats a reused pid with another start time, or another boot, as gone', async () => {
    const a = join(dir, tempFileName('a'));
    const b = join(dir, tempFileName('b'));
    await writeFile(a, '');
    await writeFile(b, '');
    await recordAs(`${await bootId()}-${await pidNs()}-${process.ppid}-1`, [a]);
    await recordAs(`${'0'.repeat(32)}-${await pidNs()}-${process.ppid}-${await startOf(process.ppid)}`, [b]);
    const { removed } = await PendingWrites.open(state);
    expect(removed.sort()).toEqual([a, b].sort());
  });

  it('skips what is not a record or an owner: a symlinked owner, a FIFO, a stray file; and still starts', async () => {
    const victim = join(dir, 'victim');
    await mkdir(victim);
    await writeFile(join(victim, '0000000000000000'), join(dir, tempFileName('x')));
    await writeFile(join(victim, 'precious'), 'keep me');
    await mkdir(join(state, 'pending-writes'), { recursive: true, mode: 0o700 });
    await symlink(victim, join(state, 'pending-writes', await deadOwner()));
    const leftover = join(dir, tempFileName('real'));
    await writeFile(leftover, '');
    const records = await recordAs(`${await bootId()}-${await pidNs()}-4194306-1`, [leftover]);
    execFileSync('mkfifo', [join(records, 'ffffffffffffffff')]);
    await writeFile(join(records, 'not-a-record'), leftover);
    await writeFile(join(state, 'pending-writes', `${await bootId()}-${await pidNs()}-4194307-1`), 'a file');
    const { removed } = await PendingWrites.open(state);
    expect(removed).toEqual([leftover]);
    expect(await readdir(victim)).toEqual(['0000000000000000', 'precious']);
    expect((await readdir(records)).sort()).toEqual(['ffffffffffffffff', 'not-a-record']);
  });

  it('refuses a state directory others can write to', async () => {
    await mkdir(state, { mode: 0o700 });
    await chmod(state, 0o777);
    await expect(PendingWrites.open(state)).rejects.toThrow(/writable by others/);
  });

  it('never costs a write: a record that cannot be made is reported and the write goes on', async () => {
    const failures: unknown[] = [];
    const { journal } = await PendingWrites.open(state, (error) => failures.push(error));
    await rm(state, { recursive: true });
    await writeFile(state, 'the state directory became a file');
    const write = await AtomicWrite.begin(join(dir, 'h.txt'), replace, journal);
    await write.write(Buffer.from('content'));
    await write.commit();
    expect(await readFile(join(dir, 'h.txt'), 'utf8')).toBe('content');
    expect(failures).toHaveLength(1);
  });
});
