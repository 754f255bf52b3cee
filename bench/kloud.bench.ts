/**
 * kloud: Kloud (`kloud serve`, its own process) with the local provider.
 *
 * - Build: 50 local machines built concurrently, time from the 50 build calls until all are
 *   Running (each a real Klient process installed by the install script and registered through
 *   its link), beside one machine built alone in the same run.
 * - Tunnel: `klient.ping` round trip through Kloud's tunnel (`/machines/<id>/klient`) beside the
 *   same call on a direct connection to the Klient, same token, measured in alternating blocks.
 *   Goal (issue [4/7]): tunnel p50 ≤ 1.5× direct.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openStore } from '@kk/backend/store/store.js';
import { connect } from '@kk/protocol/node.js';
import { processesIn, terminate } from '../packages/kloud/src/providers/local/processes.js';
import { type BenchRow, percentile } from './row.js';

/** Machines built at once; KLOUD_BENCH_MACHINES overrides for a quick run. */
const MACHINES = Number(process.env.KLOUD_BENCH_MACHINES ?? 50);
const BLOCKS = 10;
const PER_BLOCK = 300;
const repo = fileURLToPath(new URL('..', import.meta.url));

async function startKloud(dir: string): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repo, 'packages/kloud/src/main.ts'),
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      dir,
      '--log-level',
      'warn',
      '--sweep-ms',
      '0',
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /Kloud is running at (\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`kloud exited with ${code}`)));
  });
  const token = /Admin token: (\S+)/.exec(out)?.[1];
  if (!token) throw new Error('kloud printed no admin token');
  return { child, url, token };
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kloud-bench-'));
  const kloud = await startKloud(dir);
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${kloud.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${kloud.token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field below
    return (await res.json()) as Record<string, any>;
  };
  const store = await openStore({ dataDir: dir });
  const admin = (await store.users.byUsername('admin'))!;
  const newMachine = async (label: string) =>
    (await store.machines.create({ provider: 'local', label }, admin)).id;
  const buildAll = async (ids: string[]): Promise<number> => {
    const start = performance.now();
    await Promise.all(ids.map((id) => api('POST', `/api/v1/machines/${id}/build`)));
    for (;;) {
      const states = await Promise.all(
        ids.map(async (id) => (await api('GET', `/api/v1/machines/${id}/state`)).state as string),
      );
      const bad = states.filter((s) => s !== 'Running' && s !== 'Building');
      if (bad.length) throw new Error(`builds failed: ${bad.join(', ')}`);
      if (states.every((s) => s === 'Running')) return (performance.now() - start) / 1000;
      await sleep(100);
    }
  };
  try {
    const artifact = (await fetch(`${kloud.url}/download/klient`, { method: 'HEAD' })).headers.get(
      'x-klient-version',
    );
    const alone = await buildAll([await newMachine('alone')]);
    const many: string[] = [];
    for (let i = 0; i < MACHINES; i++) many.push(await newMachine(`m${i}`));
    const together = await buildAll(many);

    const grant = await api('POST', `/api/v1/machines/${many[0]}/token`, {});
    const tunnel = connect(grant.url, grant.token, { reconnect: false });
    const direct = connect(grant.directUrl, grant.token, { reconnect: false });
    const viaTunnel: number[] = [];
    const viaDirect: number[] = [];
    const block = async (client: typeof tunnel, into: number[] | undefined) => {
      for (let i = 0; i < PER_BLOCK; i++) {
        const t0 = process.hrtime.bigint();
        await client.call('klient.ping', {});
        into?.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
    await block(tunnel, undefined);
    await block(direct, undefined);
    for (let b = 0; b < BLOCKS; b++) {
      await block(tunnel, viaTunnel);
      await block(direct, viaDirect);
    }
    tunnel.close();
    direct.close();
    const p50t = percentile(viaTunnel, 50);
    const p50d = percentile(viaDirect, 50);
    return [
      {
        figure: `${MACHINES} local machines built concurrently, until all Running`,
        value: together,
        unit: 's',
        peer: 'one machine built alone',
        peerValue: alone,
        better: 'lower',
        note: `Klient artifact: ${artifact === 'source' ? 'source launcher (tsx)' : `executable ${artifact}`}; each a real Klient process`,
      },
      {
        figure: 'klient.ping round trip p50, through Kloud’s tunnel',
        value: p50t,
        unit: 'ms',
        peer: 'direct to the Klient',
        peerValue: p50d,
        better: 'lower',
        note: `goal ≤ 1.5×; p99 ${percentile(viaTunnel, 99).toFixed(3)} vs ${percentile(viaDirect, 99).toFixed(3)} ms; ${BLOCKS}×${PER_BLOCK} alternating`,
      },
    ];
  } finally {
    await store.close();
    kloud.child.kill('SIGTERM');
    await terminate(await processesIn(dir), 5_000);
    rmSync(dir, { recursive: true, force: true });
  }
}
