/**
 * Klient against OpenSSH and node-pty, side by side in one run: exec round trip, large file
 * read/write with Klient's memory while it streams, terminal echo latency and output throughput.
 * Klient is the single executable (`npm run build:klient`, rebuilt here when stale) running as its
 * own process on loopback; sshd is Debian's, started on a free loopback port with its own keys.
 */
import { access } from 'node:fs/promises';
import { buildKlient, isKlientBuildFresh, klientOutputs } from '../scripts/build-klient.js';
import { startKlientProcess } from '../test/support/klient-process.js';
import { benchExec } from './klient/exec.js';
import { benchFiles } from './klient/files.js';
import { benchTerminal } from './klient/terminal.js';
import { sshdPath, startOpenSsh } from './peers/openssh.js';
import type { BenchRow } from './row.js';

export async function run(): Promise<BenchRow[]> {
  await access(sshdPath).catch(() => {
    throw new Error(`${sshdPath} is missing: run scripts/ensure-test-deps.sh (installs openssh-server)`);
  });
  if (!(await isKlientBuildFresh())) {
    console.error('building the klient executable');
    await buildKlient();
  }
  const ssh = await startOpenSsh();
  const klient = await startKlientProcess({
    command: [klientOutputs().executable],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  const client = klient.connect();
  try {
    await client.call('klient.ping', {});
    const rows: BenchRow[] = [];
    console.error('exec');
    rows.push(...(await benchExec(client, ssh)));
    console.error('files');
    rows.push(...(await benchFiles(klient, ssh)));
    console.error('terminal');
    rows.push(...(await benchTerminal(client, ssh)));
    return rows;
  } finally {
    await klient.stop();
    await ssh.stop();
  }
}
