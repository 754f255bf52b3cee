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

async function sample(times: number, once: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await once();
    samples.push(performance.now() - started);
  }
  return samples;
}

async function klientTrue(client: RpcClient): Promise<void> {
  const result = await client.call('exec.run', { command: 'true' });
  if (result.exitCode !== 0) throw new Error(`exec.run true exited ${result.exitCode} (${result.signal})`);
}

export async function benchExec(client: RpcClient, ssh: OpenSsh): Promise<BenchRow[]> {
  await ssh.startMaster();
  // Warm both sides up (page cache, JIT, the master's first session) before measuring.
  await sample(20, () => klientTrue(client));
  await sample(5, () => run('ssh', [...ssh.muxArgs(), 'true']).then(() => undefined));

  const klient = await sample(300, () => klientTrue(client));
  const mux = await sample(150, () => run('ssh', [...ssh.muxArgs(), 'true']).then(() => undefined));
  const plain = await sample(20, () => run('ssh', [...ssh.sshArgs(), 'true']).then(() => undefined));

  const rows: BenchRow[] = [];
  for (const p of [50, 99]) {
    rows.push({
      figure: `exec \`true\` round trip p${p}`,
      value: percentile(klient, p),
      unit: 'ms',
      peer: 'ssh (ControlMaster)',
      peerValue: percentile(mux, p),
      better: 'lower',
      note: p === 50 ? 'goal: below 0.5× of ssh with ControlMaster; 300 vs 150 runs' : '300 vs 150 runs',
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
