/**
 * Where a local machine lives: one directory per instance under the provider's root.
 *
 *   <root>/<instanceId>/instance.json   who it is (machine id tag, idempotency token, run env)
 *   <root>/<instanceId>/bin/klient       installed by the install script (checksum-verified)
 *   <root>/<instanceId>/etc/             kite.key, klient.env, klient.pid, klient.log
 *   <root>/<instanceId>/home/            the machine user's home (Klient's cwd and KLIENT_HOME)
 *   <root>/<instanceId>/state/           Klient's own state (KLIENT_STATE_DIR), kept out of the home
 *   <root>/<instanceId>/install.log      the install script's own output
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface InstanceFile {
  machineId: string;
  label: string;
  idempotencyToken: string;
  createdAt: number;
  /** `stopped` after a stop: describe then answers Stopped even though no process runs. */
  desired: 'running' | 'stopped';
  /** The environment Klient runs with (listen address, home), for restarts. */
  runEnv: Record<string, string>;
}

export interface InstancePaths {
  dir: string;
  file: string;
  bin: string;
  etc: string;
  home: string;
  state: string;
  pidFile: string;
  envFile: string;
  log: string;
  installLog: string;
  installScript: string;
}

const instancePattern = /^lm-[0-9a-f]{28}-[0-9a-f]{10}$|^lm-[A-Za-z0-9_-]{1,64}-[0-9a-f]{10}$/;

/** The same machine and token always map to the same instance: a retried create finds it. */
export function instanceIdFor(machineId: string, idempotencyToken: string): string {
  const safe = machineId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64) || 'machine';
  return `lm-${safe}-${createHash('sha256').update(idempotencyToken).digest('hex').slice(0, 10)}`;
}

export function isInstanceId(value: string): boolean {
  return instancePattern.test(value);
}

export function pathsOf(root: string, instanceId: string): InstancePaths {
  const dir = join(root, instanceId);
  const etc = join(dir, 'etc');
  return {
    dir,
    file: join(dir, 'instance.json'),
    bin: join(dir, 'bin', 'klient'),
    etc,
    home: join(dir, 'home'),
    state: join(dir, 'state'),
    pidFile: join(etc, 'klient.pid'),
    envFile: join(etc, 'klient.env'),
    log: join(etc, 'klient.log'),
    installLog: join(dir, 'install.log'),
    installScript: join(dir, 'install-klient.sh'),
  };
}

export async function readInstance(paths: InstancePaths): Promise<InstanceFile | undefined> {
  try {
    return JSON.parse(await readFile(paths.file, 'utf8')) as InstanceFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Written under a temporary name and renamed, so a crash never leaves half a file. */
export async function writeInstance(paths: InstancePaths, value: InstanceFile): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const tmp = `${paths.file}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
  await rename(tmp, paths.file);
}
