/**
 * No command outlives Klient, even a Klient killed with SIGKILL, which cannot kill what it
 * started: the next Klient with the same state directory kills what its commands left (their
 * groups, and what carries their tag), and nothing that cannot be told to be theirs.
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
import { COMMAND_TAG } from './command.js';
import { groupRecord, killLeftGroup } from './left-groups.js';

const sameBoot = { sameBoot: true };

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
async function groupLeader(command: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', command], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  strays.push(child);
  await once(child, 'spawn');
  return child;
}

describe.skipIf(!existsSync('/proc/self/stat'))('process groups a killed Klient left', () => {
  it("are killed at the next start: exec.start's and exec.run's groups, and what left them", async () => {
    dir = await mkdtemp(join(tmpdir(), 'klient-left-'));
    const home = join(dir, 'home');
    await mkdir(home);
    await chmod(dir, 0o755);
    klient = await spawnKlient({ dir, home });
    const client = await klient.connect('owner');
    // A child in the group, and one that left it for a session of its own (as a daemon does).
    const started = await client.call('exec.start', {
      command: 'sleep 300 & echo $! > in-group.pid; setsid sleep 301 & echo $! > own-session.pid; wait',
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
      await pidIn(join(home, 'in-group.pid')),
      await pidIn(join(home, 'own-session.pid')),
      await pidIn(join(home, 'run.pid')),
    ];
    // Both commands are recorded, whole, before the kill (records are written beside the
    // commands, not before them).
    const records = join(dir, 'state', 'exec-groups');
    const recorded = async () => {
      const own = join(records, (await readdir(records))[0]!);
      const texts = await Promise.all((await readdir(own)).map((name) => readFile(join(own, name), 'utf8')));
      return texts.filter((text) => /^\d+ \d+ [0-9a-f]{16}$/.test(text)).length;
    };
    await expect.poll(recorded, { timeout: 10_000 }).toBe(2);

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

  it('kills a group whose leader still has the recorded start, and what carries its tag', async () => {
    const leader = await groupLeader('exec sleep 300');
    expect(await killLeftGroup(groupRecord(leader.pid!, startTimeOfSync(leader.pid!)!), sameBoot)).toMatch(
      `group ${leader.pid}`,
    );
    await once(leader, 'exit');

    // The leader exits at once; its child, tagged, is found by the tag.
    dir = await mkdtemp(join(tmpdir(), 'klient-left-'));
    const childPid = join(dir, 'child.pid');
    const tag = 'a1b2c3d4e5f60718';
    const tagged = await groupLeader(`sleep 300 & echo $! > ${childPid}`, { [COMMAND_TAG]: tag });
    const start = startTimeOfSync(tagged.pid!)!;
    await once(tagged, 'exit');
    const child = await pidIn(childPid);
    expect(await killLeftGroup(groupRecord(tagged.pid!, start, tag), sameBoot)).toMatch(`pid ${child}`);
    await expect.poll(() => running(child), { timeout: 10_000 }).toBe(false);
  });

  it('leaves alone a reused pid, a leaderless group without a tag, records of another boot, and malformed ones', async () => {
    const other = await groupLeader('exec sleep 300');
    const otherStart = startTimeOfSync(other.pid!)!;
    expect(await killLeftGroup(groupRecord(other.pid!, '1'), sameBoot)).toBeUndefined();
    expect(await killLeftGroup(groupRecord(other.pid!, otherStart), { sameBoot: false })).toBeUndefined();
    for (const record of [
      '',
      'x',
      `${other.pid}`,
      `${other.pid} ${otherStart} 1 2`,
      '0 1',
      '1 1',
      `-${other.pid} 1`,
    ])
      expect(await killLeftGroup(record, sameBoot)).toBeUndefined();
    expect(running(other.pid!)).toBe(true);

    // Its leader gone, a group cannot be told from one that took its number since: left alone.
    dir = await mkdtemp(join(tmpdir(), 'klient-left-'));
    const childPid = join(dir, 'child.pid');
    const leaderless = await groupLeader(`sleep 300 & echo $! > ${childPid}`);
    const start = startTimeOfSync(leaderless.pid!)!;
    await once(leaderless, 'exit');
    const child = await pidIn(childPid);
    expect(await killLeftGroup(groupRecord(leaderless.pid!, start), sameBoot)).toBeUndefined();
    expect(running(child)).toBe(true);
  });
});
