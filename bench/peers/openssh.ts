/**
 * OpenSSH as a benchmark peer: Debian's `sshd` on a free loopback port with its own host key,
 * client key, authorized_keys and config in a temp dir, and helpers that run `ssh` and `sftp`
 * against it with no user or system config in the way.
 *
 * HOME for sessions is an empty temp dir (`SetEnv HOME=`): Debian's bash sources ~/.bashrc
 * for commands run over ssh, and root's here takes ~95 ms (DESIGN §8). Klient's exec runs
 * `/bin/sh -c` without it, so leaving it in would measure root's .bashrc, not ssh.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const sshdPath = '/usr/sbin/sshd';

export interface OpenSsh {
  port: number;
  dir: string;
  /** `ssh` argv (without the remote command) for one connection per call. */
  sshArgs(extra?: string[]): string[];
  /** `ssh` argv that reuses the master connection opened by `startMaster()`. */
  muxArgs(): string[];
  startMaster(): Promise<void>;
  /** Runs `sftp -b` with the given batch commands and waits for it to finish. */
  /**
   * `sftp -b` with `commands`. With `overMaster`, over the connection `startMaster()` opened (no
   * key exchange or authentication in the time), as Klient's figures are on an open WebSocket.
   */
  sftpBatch(commands: string[], options?: { overMaster?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (sshd needs a number; it cannot report one it chose). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function keygen(file: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kk-bench', '-f', file]);
}

function sshdConfig(dir: string, port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The temp dir is ours but not laid out like a home directory.
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    `SetEnv HOME=${join(dir, 'home')}`,
    'Subsystem sftp internal-sftp',
    'LogLevel INFO',
    '',
  ].join('\n');
}

/** Resolves when sshd says it listens; rejects with its output if it exits first. */
function waitListening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Server listening on/.test(output)) {
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`sshd exited (${code}) before listening:\n${output}`)));
  });
}

export async function startOpenSsh(): Promise<OpenSsh> {
  const dir = await mkdtemp(join(tmpdir(), 'kk-bench-sshd-'));
  await mkdir(join(dir, 'home'));
  // sshd refuses to start without its privilege separation directory, normally made by systemd.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await keygen(join(dir, 'host_ed25519'));
  await keygen(join(dir, 'id_ed25519'));
  await run('cp', [join(dir, 'id_ed25519.pub'), join(dir, 'authorized_keys')]);
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(config, sshdConfig(dir, port));
  const child = spawn(sshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  // A bench that dies must not leave sshd listening (its master connection ends with it).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  await waitListening(child);

  const user = userInfo().username;
  const common = [
    '-F',
    '/dev/null',
    '-i',
    join(dir, 'id_ed25519'),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o',
    'LogLevel=ERROR',
  ];
  const controlPath = join(dir, 'control');
  const sshArgs = (extra: string[] = []) => [...common, ...extra, '-p', String(port), `${user}@127.0.0.1`];

  return {
    port,
    dir,
    sshArgs,
    muxArgs: () => sshArgs(['-o', `ControlPath=${controlPath}`, '-o', 'ControlMaster=no']),
    async startMaster() {
      // -f: authenticate, then go to the background holding the master connection. No pipes:
      // the background process would keep them open and the wait would never end.
      const args = sshArgs([
        '-o',
        `ControlPath=${controlPath}`,
        '-o',
        'ControlMaster=yes',
        '-o',
        'ControlPersist=yes',
      ]);
      const master = spawn('ssh', [...args, '-N', '-f'], { stdio: 'ignore' });
      const code = await new Promise((resolve) => master.once('exit', resolve));
      if (code !== 0) throw new Error(`ssh master connection failed (exit ${code})`);
    },
    async sftpBatch(commands, options = {}) {
      const batch = join(dir, 'sftp-batch');
      await writeFile(batch, `${commands.join('\n')}\n`);
      const mux = options.overMaster ? ['-o', `ControlPath=${controlPath}`, '-o', 'ControlMaster=no'] : [];
      await run('sftp', [...common, ...mux, '-b', batch, '-P', String(port), `${user}@127.0.0.1`]);
    },
    async stop() {
      await run('ssh', [...sshArgs(['-o', `ControlPath=${controlPath}`]), '-O', 'exit']).catch(
        () => undefined,
      );
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
