/**
 * Round trip of running `true`: Klient's `exec.run` over its open WebSocket against `ssh host true`
 * with a ControlMaster connection (no handshake, but a new ssh client process per command) and
 * without one (a full handshake per command). Every side runs `true` through a shell.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RpcClient } from '@kk/protocol';
import type { OpenSsh } from '../peers/openssh.js';
import { type BenchRow, percentile } from '../row.js';

const run = promisify(execFile);

async function time(once: () => Promise<unknown>, into: number[]): Promise<void> {
  const started = performance.now();
  await once();
  into.push(performance.now() - started);
}

async function klientTrue(client: RpcClient): Promise<void> {
  const result = await client.call('exec.run', { command: 'true' });
  if (result.exitCode !== 0) throw new Error(`exec.run true exited ${result.exitCode} (${result.signal})`);
}

export async function benchExec(client: RpcClient, ssh: OpenSsh): Promise<BenchRow[]> {
  await ssh.startMaster();
  const klient: number[] = [];
  const mux: number[] = [];
  const plain: number[] = [];
  const sshTrue = (args: string[]) => run('ssh', [...args, 'true']);
  // Warm both sides up (page cache, JIT, the master's first session) before measuring.
  for (let i = 0; i < 10; i++) {
    await time(() => klientTrue(client), []);
    await time(() => sshTrue(ssh.muxArgs()), []);
  }
  // Interleaved, so the load of a shared machine falls on every side alike.
  for (let i = 0; i < 300; i++) {
    await time(() => klientTrue(client), klient);
    if (i % 2 === 0) await time(() => sshTrue(ssh.muxArgs()), mux);
    if (i % 15 === 0) await time(() => sshTrue(ssh.sshArgs()), plain);
  }

  const rows: BenchRow[] = [];
  for (const p of [50, 99]) {
    rows.push({
      figure: `exec \`true\` round trip p${p}`,
      value: percentile(klient, p),
      unit: 'ms',
      peer: 'ssh (ControlMaster)',
      peerValue: percentile(mux, p),
      better: 'lower',
      note: `${p === 50 ? 'goal: below 0.5×; ' : ''}Klient: one open WebSocket, 300 runs; ssh: a client process per command over the master, 150 runs`,
    });
  }
  rows.push({
    figure: 'exec `true` round trip p50',
    value: percentile(klient, 50),
    unit: 'ms',
    peer: 'ssh (new connection)',
    peerValue: percentile(plain, 50),
    better: 'lower',
    note: 'ssh: 20 runs, key exchange and auth each time',
  });
  return rows;
}
