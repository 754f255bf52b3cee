/**
 * The `local` provider: machines on this host, so `npm start` works with no cloud account.
 * A machine is a directory (layout.ts) and its own Klient process. It is installed exactly like
 * a cloud machine: `create` runs the same install script with the same kite.key, which
 * downloads Klient from Kloud's download endpoint, checks its sha256 and starts `klient run`
 * in the background (its `direct` service mode), pointed at this machine's directory.
 *
 * Processes run as the user Kloud runs as, in their own session (they outlive a Kloud restart,
 * as cloud machines do). No network namespace: Klient listens on a free loopback port, and
 * callers normally go through Kloud's tunnel anyway (README).
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ProviderError } from '../errors.js';
import type {
  Available,
  InstanceInfo,
  MachineSpec,
  Provider,
  ProviderCredential,
  TaggedInstance,
} from '../provider.js';
import {
  type InstanceFile,
  instanceIdFor,
  isInstanceId,
  pathsOf,
  readInstance,
  writeInstance,
} from './layout.js';
import { isAliveIn, MACHINE_MARK, processesIn, readPid, spawnDetached, terminate } from './processes.js';

const run = promisify(execFile);

export interface LocalProviderOptions {
  /** Directory holding one directory per machine (inside Kloud's data directory). */
  root: string;
  /** How long a stopping Klient gets after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  /** How long the install script may take (download included). */
  installTimeoutMs?: number;
}

export class LocalProvider implements Provider {
  readonly name = 'local';
  private readonly grace: number;

  constructor(private readonly options: LocalProviderOptions) {
    this.grace = options.stopGraceMs ?? 5_000;
  }

  private fail(kind: 'user' | 'notFound' | 'internal', message: string, cause?: unknown): never {
    throw new ProviderError(this.name, kind, message, { cause });
  }

  private paths(instanceId: string) {
    if (!isInstanceId(instanceId)) this.fail('notFound', `not a local instance id: ${instanceId}`);
    return pathsOf(this.options.root, instanceId);
  }

  async validate(_credential: ProviderCredential): Promise<void> {}

  async bootstrap(_credential: ProviderCredential): Promise<Record<string, string>> {
    return {};
  }

  async create(_credential: ProviderCredential, spec: MachineSpec, userData: string): Promise<InstanceInfo> {
    if (spec.size && spec.size !== 'local')
      this.fail('user', `local machines have one size, "local"; got "${spec.size}"`);
    const instanceId = instanceIdFor(spec.machineId, spec.idempotencyToken);
    const p = this.paths(instanceId);
    const existing = await readInstance(p);
    if (existing) {
      // A retried create (after a crash): the same instance, reinstalled only if its Klient is gone.
      const info = await this.describe(_credential, instanceId);
      if (info.state === 'Running') return info;
    }
    await mkdir(p.home, { recursive: true, mode: 0o700 });
    await mkdir(p.etc, { recursive: true, mode: 0o700 });
    const instance: InstanceFile = {
      machineId: spec.machineId,
      label: spec.label,
      idempotencyToken: spec.idempotencyToken,
      createdAt: existing?.createdAt ?? Date.now(),
      desired: 'running',
      runEnv: {
        KLIENT_LISTEN: '127.0.0.1:0',
        KLIENT_HOME: p.home,
        KLIENT_STATE_DIR: p.state,
        HOME: p.home,
        [MACHINE_MARK]: instanceId,
      },
    };
    await writeInstance(p, instance);
    await writeFile(p.installScript, userData, { mode: 0o700 });
    try {
      await run('/bin/sh', [p.installScript], {
        cwd: p.home,
        timeout: this.options.installTimeoutMs ?? 120_000,
        env: {
          ...this.baseEnv(instance),
          KLIENT_PREFIX: p.dir,
          KLIENT_CONFIG_DIR: p.etc,
          KLIENT_SERVICE: 'direct',
        },
        maxBuffer: 4 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as { code?: number | string; stderr?: string };
      const last = (e.stderr ?? '').trim().split('\n').at(-1) ?? '';
      await writeFile(p.installLog, e.stderr ?? '', { mode: 0o600 }).catch(() => {});
      this.fail(
        e.code === 3 ? 'user' : 'internal',
        `installing Klient failed (exit ${e.code}): ${last || 'no output'}`,
        err,
      );
    } finally {
      // It carries the kite.key (kept in etc/kite.key, 0600); no second copy lies around.
      await rm(p.installScript, { force: true });
    }
    return this.describe(_credential, instanceId);
  }

  private baseEnv(instance: InstanceFile): NodeJS.ProcessEnv {
    const { PATH, LANG, TZ, TMPDIR } = process.env;
    return Object.fromEntries(
      Object.entries({ PATH, LANG, TZ, TMPDIR, ...instance.runEnv }).filter(([, v]) => v !== undefined),
    ) as NodeJS.ProcessEnv;
  }

  async start(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const p = this.paths(instanceId);
    const instance = await readInstance(p);
    if (!instance) this.fail('notFound', `local instance ${instanceId} does not exist`);
    const current = await this.describe(credential, instanceId);
    if (current.state !== 'Running') {
      // The same command the install script's direct mode runs.
      const script = `set -a; . '${p.envFile}'; set +a; exec '${p.bin}' run`;
      const pid = spawnDetached(['/bin/sh', '-c', script], {
        cwd: p.home,
        env: this.baseEnv(instance),
        logFile: p.log,
      });
      await writeFile(p.pidFile, `${pid}\n`, { mode: 0o600 });
    }
    await writeInstance(p, { ...instance, desired: 'running' });
    return this.describe(credential, instanceId);
  }

  async stop(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const p = this.paths(instanceId);
    const instance = await readInstance(p);
    if (!instance) this.fail('notFound', `local instance ${instanceId} does not exist`);
    await writeInstance(p, { ...instance, desired: 'stopped' });
    await terminate(await processesIn(p.dir, instanceId), this.grace);
    return this.describe(credential, instanceId);
  }

  async restart(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    await this.stop(credential, instanceId);
    return this.start(credential, instanceId);
  }

  async destroy(_credential: ProviderCredential, instanceId: string): Promise<void> {
    const p = this.paths(instanceId);
    await terminate(await processesIn(p.dir, instanceId), this.grace);
    await rm(p.dir, { recursive: true, force: true });
  }

  async describe(_credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const p = this.paths(instanceId);
    const instance = await readInstance(p);
    if (!instance) return { instanceId, state: 'Terminated' };
    const pid = await readPid(p.pidFile);
    const alive = pid !== undefined && (await isAliveIn(pid, p.dir));
    return {
      instanceId,
      state: alive ? 'Running' : 'Stopped',
      ipAddress: '127.0.0.1',
      meta: { directory: p.dir, ...(alive ? { pid } : {}), desired: instance.desired },
    };
  }

  async listAvailable(_credential: ProviderCredential): Promise<Available> {
    const { stdout } = await run('uname', ['-srm']).catch(() => ({ stdout: 'this host' }));
    return {
      sizes: [{ name: 'local', title: 'Shares this host', spec: { note: 'no resource limits' } }],
      regions: [{ name: 'local', title: stdout.trim() }],
      images: [{ name: 'host', title: 'The host system, a directory per machine' }],
    };
  }

  async listTagged(credential: ProviderCredential): Promise<TaggedInstance[]> {
    let names: string[];
    try {
      names = await readdir(this.options.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: TaggedInstance[] = [];
    for (const name of names.filter(isInstanceId)) {
      const instance = await readInstance(pathsOf(this.options.root, name)).catch(() => undefined);
      const info = await this.describe(credential, name);
      if (info.state !== 'Terminated' || instance) out.push({ ...info, machineId: instance?.machineId });
    }
    return out;
  }
}
