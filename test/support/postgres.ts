/**
 * A throw-away PostgreSQL server for tests and benchmarks: initdb in a temporary directory, the
 * server on a free loopback port with its unix socket in the same directory, one database made.
 * `stop()` shuts it down and removes everything. Uses Debian's binaries
 * (/usr/lib/postgresql/<version>/bin); as root it runs them as the `postgres` user (setuid in
 * spawn, so the server is our direct child and gets our signals), because it refuses to run as root.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url: string;
  port: number;
  /** Makes another empty database on the same server and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Shuts the server down as `pg_ctl stop -m fast` does (SIGINT: sessions are ended, the data is
   * kept) and resolves once it exited; `start()` brings it back on the same port and data.
   */
  shutdown(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Resolves when the server logs that it accepts connections; rejects if it exits first. */
function ready(child: ChildProcess, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log.push(chunk.toString());
      if (log.join('').includes('database system is ready to accept connections')) {
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`postgres exited (${code}) before it was ready:\n${log.join('')}`));
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Ends every other session on `databaseUrl`'s database, as a server restart or a failover would. */
export async function dropConnections(databaseUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
  } finally {
    await admin.end();
  }
}

export async function startPostgres(
  options: { database?: string; fsync?: boolean } = {},
): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error(
      'PostgreSQL is not installed: run `bash scripts/ensure-test-deps.sh` (apt-get install postgresql)',
    );
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'kk-pg-'));
  const data = join(dir, 'data');
  let ids: { uid?: number; gid?: number } = {};
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      // Smart shutdown first: clients still saying goodbye get no FATAL "terminating connection"
      // (which pg would raise as an unhandled error); fast shutdown if a session was leaked.
      child.kill('SIGTERM');
      const fast = setTimeout(() => child?.kill('SIGINT'), 10_000);
      await exited;
      clearTimeout(fast);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (asRoot) {
      ids = await postgresIds();
      chownSync(dir, ids.uid!, ids.gid!);
    }
    const initdb = ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'];
    await run(join(bin, 'initdb'), initdb, { ...ids, cwd: dir });
    const port = await freePort();
    const fsync = `fsync=${options.fsync ? 'on' : 'off'}`;
    const args = [
      '-D',
      data,
      '-k',
      dir,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-c',
      fsync,
      '-c',
      'max_connections=100',
    ];
    const start = async () => {
      child = spawn(join(bin, 'postgres'), args, { ...ids, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      await ready(child, []);
    };
    const shutdown = async () => {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGINT');
      await exited;
    };
    await start();
    const base = `postgres://postgres@127.0.0.1:${port}`;
    const createDatabase = async (name: string) => {
      const client = new pg.Client({ connectionString: `${base}/postgres` });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return `${base}/${name}`;
    };
    const url = await createDatabase(options.database ?? 'kk_test');
    return { url, port, createDatabase, shutdown, start, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
