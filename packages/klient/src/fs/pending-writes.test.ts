import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
const startOf = async (pid: number) => {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]!;
};

/** Records `temps` as another process's (`owner`) would have. */
async function recordAs(owner: string, temps: string[]): Promise<void> {
  const records = join(state, 'pending-writes', owner);
  await mkdir(records, { recursive: true });
  for (const [i, temp] of temps.entries()) await writeFile(join(records, `r${i}`), temp);
}

describe('PendingWrites', () => {
  it('records a temp file until the write forgets it', async () => {
    const { journal } = await PendingWrites.open(state);
    const forget = await journal.record(join(dir, tempFileName('a.txt')));
    const [own] = await readdir(join(state, 'pending-writes'));
    expect(await readdir(join(state, 'pending-writes', own!))).toHaveLength(1);
    await forget();
    expect(await readdir(join(state, 'pending-writes', own!))).toHaveLength(0);
  });

  it("removes the temp files of a process that is gone, and only files named like Klient's temp files", async () => {
    const leftover = join(dir, tempFileName('data.txt'));
    const notATemp = join(dir, 'data.txt');
    await writeFile(leftover, 'half a write');
    await writeFile(notATemp, 'a user file');
    // pid_max is at most 2^22: this pid cannot be running.
    await recordAs(`${await bootId()}-4194305-12345`, [leftover, notATemp, join(dir, tempFileName('gone'))]);
    const { removed } = await PendingWrites.open(state);
    expect(removed).toEqual([leftover]);
    expect(await exists(leftover)).toBe(false);
    expect(await exists(notATemp)).toBe(true);
    expect(await readdir(join(state, 'pending-writes'))).toHaveLength(1);
  });

  it('leaves the records of a live process alone (two Klients on one account)', async () => {
    const inProgress = join(dir, tempFileName('busy.txt'));
    await writeFile(inProgress, 'being written');
    const live = `${await bootId()}-${process.ppid}-${await startOf(process.ppid)}`;
    await recordAs(live, [inProgress]);
    const { removed } = await PendingWrites.open(state);
    expect(removed).toEqual([]);
    expect(await exists(inProgress)).toBe(true);
  });

  it('treats a reused pid with another start time, or another boot, as gone', async () => {
    const a = join(dir, tempFileName('a'));
    const b = join(dir, tempFileName('b'));
    await writeFile(a, '');
    await writeFile(b, '');
    await recordAs(`${await bootId()}-${process.ppid}-1`, [a]);
    await recordAs(`${'0'.repeat(32)}-${process.ppid}-${await startOf(process.ppid)}`, [b]);
    const { removed } = await PendingWrites.open(state);
    expect(removed.sort()).toEqual([a, b].sort());
  });
});
