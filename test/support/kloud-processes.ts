/**
 * `kloud serve` processes sharing one throw-away PostgreSQL and one data directory, for tests of
 * several Kloud processes: started on the ports asked for, each one's stderr kept for a failing
 * test's message, and all stopped (TERM, then KILL if one hangs) with their machines' processes,
 * the directory and the database server at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { killEverythingIn, spawnKloud, tempDataDir } from '../e2e/harness.js';
import { startPostgres, type TestPostgres } from './postgres.js';

export interface KloudProcess {
  child: ChildProcess;
  url: string;
  /** The admin's token, printed by the first process on a fresh database only. */
  token?: string;
  /** What it wrote to stderr so far. */
  log(): string;
}

export interface KloudProcesses {
  dir: string;
  pg: TestPostgres;
  start(port: number, flags: string[]): Promise<KloudProcess>;
  stopAll(): Promise<void>;
}

export async function kloudProcesses(): Promise<KloudProcesses> {
  const dir = tempDataDir();
  const pg = await startPostgres();
  const started: KloudProcess[] = [];
  return {
    dir,
    pg,
    async start(port, flags) {
      const spawned = await spawnKloud(dir, port, flags);
      let log = '';
      spawned.child.stderr!.on('data', (d) => {
        log += d;
      });
      const k = { ...spawned, log: () => log };
      started.push(k);
      return k;
    },
    async stopAll() {
      for (const { child } of started) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(kill);
      }
      await killEverythingIn(dir);
      await pg.stop();
    },
  };
}
