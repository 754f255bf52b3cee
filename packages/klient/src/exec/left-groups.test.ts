/**
 * No command outlives Klient, even a Klient killed with SIGKILL, which cannot kill what it
 * started: the next Klient with the same state directory kills the process groups it left, and
 * nothing that is not such a group.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTimeOfSync } from '../crash-journal.js';
import { type SpawnedKlient, spawnKlient } from '../testing/harness.js';
import { groupRecord, killLeftGroup } from './left-groups.js';

let dir: string | undefined;
let klient: SpawnedKlient | undefined;
const strays: ChildProcess[] = [];

afterEach(async () => {
  await klient?.close();
  klient = undefined;
  for (const child of strays.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Gone already, as the test wanted.
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Running: there, and not a zombie waiting for whoever adopted it to reap it. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const pidIn = async (file: string) => {
  await expect.poll(() => readFile(file, 'utf8').catch(() => ''), { timeout: 10_000 }).toMatch(/^\d+\n$/);
  return Number(await readFile(file, 'utf8'));
};

/** A command in a process group of its own, as Klient starts them, that this test may kill. */
async function groupLeader(command: string): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', command], { detached: true, stdio: 'ignore' });
  strays.push(child);
  await once(child, 'spawn');
  return child;
}

describe.skipIf(!existsSync('/proc/self/stat'))('process groups a killed Klient left', () => {
  it("are killed at the next start: exec.start's and exec.run's, with their children", async () => {
    dir = await mkdtemp(join(tmpdir(), 'klient-left-'));
    const home = join(dir, 'home');
    await mkdir(home);
    await chmod(dir, 0o755);
    klient = await spawnKlient({ dir, home });
    const client = await klient.connect('owner');
    const started = await client.call('exec.start', {
      command: `sleep 300 & echo $! > start-child.pid; wait`,
    });
    client.openReader(started.stdout);
    client.openReader(started.stderr);
    const run = client.call(
      'exec.run',
      { command: 'echo $$ > run.pid; exec sleep 300', timeoutMs: 600_000 },
      { timeoutMs: 600_000 },
    );
    run.catch(() => {});
    const pids = [
      started.pid,
      await pidIn(join(home, 'start-child.pid')),
      await pidIn(join(home, 'run.pid')),
    ];
    // Both groups are recorded before the kill (records are written beside the commands, not before).
    const records = join(dir, 'state', 'exec-groups');
    await expect
      .poll(async () => (await readdir(join(records, (await readdir(records))[0]!))).length)
      .toBe(2);

    klient.child.kill('SIGKILL');
    await klient.exited;
    // Killed without a chance to kill them: they run on.
    for (const pid of pids) expect(running(pid)).toBe(true);

    klient = await spawnKlient({ dir, home });
    const stillRunning = () =>
      pids.filter(running).map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/stat`, 'utf8')}`);
    await expect
      .poll(stillRunning, { timeout: 10_000, message: `left running; Klient said:\n${klient.log()}` })
      .toEqual([]);
    // The dead Klient's records went with its groups.
    expect(await readdir(records)).toHaveLength(1);
  });

  it('kills a group whose leader still has the recorded start, or whose leader is gone', async () => {
    const leader = await groupLeader('exec sleep 300');
    expect(await killLeftGroup(groupRecord(leader.pid!, startTimeOfSync(leader.pid!)!))).toBe(
      `process group ${leader.pid}`,
    );
    await once(leader, 'exit');

    // The leader exits at once and leaves its child in the group: the group is still the one recorded.
    dir = await mkdtemp(join(tmpdir(), 'klient-left-'));
    const childPid = join(dir, 'child.pid');
    const orphaning = await groupLeader(`sleep 300 & echo $! > ${childPid}`);
    const start = startTimeOfSync(orphaning.pid!)!;
    await once(orphaning, 'exit');
    const child = await pidIn(childPid);
    expect(running(child)).toBe(true);
    expect(await killLeftGroup(groupRecord(orphaning.pid!, start))).toBe(`process group ${orphaning.pid}`);
    await expect.poll(() => running(child), { timeout: 10_000 }).toBe(false);
  });

  it('leaves alone a pid reused by another process, and records that are not ours', async () => {
    const other = await groupLeader('exec sleep 300');
    expect(await killLeftGroup(groupRecord(other.pid!, '1'))).toBeUndefined();
    expect(running(other.pid!)).toBe(true);
    for (const record of ['', 'x', `${other.pid}`, `${other.pid} 1 2`, '0 1', '1 1', `-${other.pid} 1`])
      expect(await killLeftGroup(record)).toBeUndefined();
    expect(running(other.pid!)).toBe(true);

    // A group whose leader is gone and whose members cannot be the recorded group's: they
    // started before its leader did (its number was reused after the recorded group ended).
    dir = await mkdtemp(join(tmpdir(), 'klient-left-'));
    const childPid = join(dir, 'child.pid');
    const reused = await groupLeader(`sleep 300 & echo $! > ${childPid}`);
    const start = Number(startTimeOfSync(reused.pid!));
    await once(reused, 'exit');
    const child = await pidIn(childPid);
    expect(await killLeftGroup(groupRecord(reused.pid!, String(start + 100_000)))).toBeUndefined();
    expect(running(child)).toBe(true);
  });
});
