/**
 * One SQLite data directory belongs to one Kloud process (recovery at start takes over every job
 * still marked running, which is only right if no other process is running them). The lock is a
 * pid file created exclusively; a file left by a process that died (kill -9, power loss) is taken
 * over. Several processes share work only through PostgreSQL.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KloudError } from '../errors.js';

/** True when `pid` runs and looks like a Kloud (a pid reused by another program does not count). */
async function kloudAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  // Without /proc (not Linux) the pid's existence has to do.
  return cmdline === undefined || /kloud|node/i.test(cmdline);
}

export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'kloud.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && (await kloudAlive(pid)))
        throw new KloudError(
          'Conflict',
          `another Kloud (pid ${pid}) uses the data directory ${dataDir}; stop it, or share work through PostgreSQL (--database-url)`,
        );
      // Left by a process that is gone: take it over.
      await rm(file, { force: true });
    }
  }
  throw new KloudError('Conflict', `could not lock the data directory ${dataDir}`);
}
