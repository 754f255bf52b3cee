/**
 * The processes of a local machine: its Klient (pid file) and anything else still running
 * inside its directory (shells, commands Klient started). "Alive" means the pid exists *and*
 * its working directory is inside the machine's directory, so a recycled pid is never taken
 * for the machine's Klient.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

async function cwdOf(pid: number): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

async function isZombie(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export async function isAliveIn(pid: number, dir: string): Promise<boolean> {
  const cwd = await cwdOf(pid);
  return cwd !== undefined && inside(cwd, dir) && !(await isZombie(pid));
}

/**
 * The environment entry every process of a local machine inherits (see `processesIn`). Not
 * prefixed KLIENT_/KLOUD_/KK_: Klient keeps those private and strips them from what it starts,
 * and this one must reach the user's commands and shells too. It names no secret.
 */
export const MACHINE_MARK = 'LOCAL_MACHINE_INSTANCE';

async function hasMark(pid: number, mark: string): Promise<boolean> {
  try {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1');
    return `\0${environ}`.includes(`\0${MACHINE_MARK}=${mark}\0`);
  } catch {
    return false;
  }
}

/**
 * Every live process of a machine: its working directory is inside `dir`, or it carries the
 * machine's mark in its environment (a process that changed directory away is still found).
 */
export async function processesIn(dir: string, mark?: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const cwd = await cwdOf(pid);
    const ours =
      (cwd !== undefined && inside(cwd, dir)) || (mark !== undefined && (await hasMark(pid, mark)));
    if (ours && !(await isZombie(pid))) found.push(pid);
  }
  return found;
}

/** True while the process exists and is not a zombie. */
async function isRunning(pid: number): Promise<boolean> {
  return !(await isZombie(pid));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL whatever is left; resolves when none is alive. */
export async function terminate(pids: number[], graceMs: number): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = pids;
  while (left.length && Date.now() < deadline) {
    await sleep(50);
    left = (await Promise.all(left.map(async (p) => ((await isRunning(p)) ? p : 0)))).filter(Boolean);
  }
  for (const pid of left) signal(pid, 'SIGKILL');
  while (left.length) {
    await sleep(20);
    left = (await Promise.all(left.map(async (p) => ((await isRunning(p)) ? p : 0)))).filter(Boolean);
  }
}

/** Runs a command detached (own session), output appended to `logFile`; resolves with its pid. */
export function spawnDetached(
  argv: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): number {
  const fd = openSync(options.logFile, 'a', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
