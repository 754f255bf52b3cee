/**
 * Scale (issue [7/7]):
 *
 * 1. One Kloud process (`kloud serve`, its own process, SQLite, default 10 s heartbeat) holding
 *    10,000 registered Klients that heartbeat (`KLOUD_BENCH_KLIENTS` overrides). The Klients are
 *    simulated in this process (test/support/klient-fleet.ts: real WebSockets, the real
 *    registration protocol, real kite.keys). Measured over three heartbeat intervals: Kloud's CPU
 *    (share of one core, from /proc), its RSS, and heartbeat lag (kite.heartbeat round trip as a
 *    Klient sees it; Kloud answers after recording it). The peer column is the same Kloud with
 *    100 Klients, measured first in the same run.
 * 2. Terminal keystroke-to-echo latency with 200 sessions on one Klient (its own process), all
 *    typed into at once, against one session alone on the same Klient.
 *
 * Both sides run on this 2-core machine, so the load generator competes with Kloud for CPU: the
 * lag figures are an upper bound of what a Kloud with its own machine would show.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '@kk/backend/store/store.js';
import { connect } from '@kk/protocol/node.js';
import { loadOrCreateKeySet } from '../packages/kloud/src/keys/keystore.js';
import { killEverythingIn, repo, spawnKloud, tempDataDir } from '../test/e2e/harness.js';
import { freePort } from '../test/support/free-port.js';
import { type Fleet, startFleet } from '../test/support/klient-fleet.js';
import { startKlientProcess } from '../test/support/klient-process.js';
import { echoLatencies, echoLine, klientTerm } from './klient/terminal.js';
import { type BenchRow, percentile } from './row.js';

const KLIENTS = Number(process.env.KLOUD_BENCH_KLIENTS ?? 10_000);
const BASELINE = 100;
const SESSIONS = 200;
const HEARTBEAT_MS = 10_000;

/** CPU seconds (user + system) and RSS bytes of a process, from /proc. */
function usage(pid: number): { cpu: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpu: ticks / 100, rss: rssPages * 4096 };
}

interface Window {
  cpuShare: number;
  /** This process's (the fleet's) CPU share: near 1 means the Klients themselves are late. */
  fleetCpuShare: number;
  rss: number;
  toKloud: number[];
  roundTrip: number[];
}

/** Kloud's CPU share, its RSS at the end, and the heartbeat lags seen, over `ms`. */
async function measure(pid: number, fleets: Fleet[], ms: number): Promise<Window> {
  for (const f of fleets) f.takeLags();
  const before = usage(pid);
  const fleetBefore = usage(process.pid);
  const started = performance.now();
  await sleep(ms);
  const after = usage(pid);
  const fleetAfter = usage(process.pid);
  const seconds = (performance.now() - started) / 1000;
  const lags = fleets.map((f) => f.takeLags());
  return {
    cpuShare: (after.cpu - before.cpu) / seconds,
    fleetCpuShare: (fleetAfter.cpu - fleetBefore.cpu) / seconds,
    rss: after.rss,
    toKloud: lags.flatMap((l) => l.toKloud),
    roundTrip: lags.flatMap((l) => l.roundTrip),
  };
}

async function benchFleet(): Promise<BenchRow[]> {
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (limit < KLIENTS + 1000)
    throw new Error(`ulimit -n is ${limit}; ${KLIENTS} Klients need at least ${KLIENTS + 1000} descriptors`);
  const dir = tempDataDir();
  const port = await freePort();
  const kloud = await spawnKloud(dir, port, ['--heartbeat-ms', String(HEARTBEAT_MS)]);
  const fleets: Fleet[] = [];
  try {
    const store = await openStore({ dataDir: dir });
    const owner = (await store.users.byUsername('admin'))!;
    const { keys } = await loadOrCreateKeySet(dir);
    const common = { kloudUrl: kloud.url, store, keys, owner };
    fleets.push(await startFleet({ ...common, count: BASELINE }));
    const small = await measure(kloud.child.pid!, fleets, 3 * HEARTBEAT_MS);
    console.error(`  ${BASELINE} Klients measured; bringing up ${KLIENTS - BASELINE} more`);
    const t0 = performance.now();
    fleets.push(
      await startFleet({
        ...common,
        count: KLIENTS - BASELINE,
        onProgress: (n) => {
          if (n % 1000 === 0) console.error(`  ${n + BASELINE} registered`);
        },
      }),
    );
    const upSeconds = (performance.now() - t0) / 1000;
    // Let the connection burst settle into the steady heartbeat rhythm before measuring.
    await sleep(HEARTBEAT_MS);
    const big = await measure(kloud.child.pid!, fleets, 3 * HEARTBEAT_MS);

    // A caller routed through the tunnel to a random Klient of the full fleet still works.
    const all = fleets.flatMap((f) => f.klients);
    const target = all[Math.floor(Math.random() * all.length)]!;
    const token = (kloud as { token?: string }).token!;
    await store.close();
    const grant = (await (
      await fetch(`${kloud.url}/api/v1/machines/${target.machineId}/token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      })
    ).json()) as { url: string; token: string };
    const caller = connect(grant.url, grant.token, { reconnect: false });
    const t1 = performance.now();
    await caller.call('klient.ping', {}, { timeoutMs: 60_000 });
    const routedMs = performance.now() - t1;
    caller.close();

    const failures = fleets.reduce((n, f) => n + f.heartbeatFailures, 0);
    const note = `${KLIENTS} Klients up in ${upSeconds.toFixed(0)} s; heartbeat every ${HEARTBEAT_MS / 1000} s; ${big.roundTrip.length} heartbeats measured in ${(3 * HEARTBEAT_MS) / 1000} s (${KLIENTS * 3} due), ${failures} failed; the fleet's own process used ${(big.fleetCpuShare * 100).toFixed(0)} % of a core; routed ping to a random one ${routedMs.toFixed(1)} ms`;
    const peer = `same Kloud, ${BASELINE} Klients`;
    return [
      {
        figure: `Kloud CPU, ${KLIENTS} Klients`,
        value: big.cpuShare * 100,
        unit: '% of a core',
        peer,
        peerValue: small.cpuShare * 100,
        better: 'lower',
        note,
      },
      {
        figure: `Kloud RSS, ${KLIENTS} Klients`,
        value: big.rss / 2 ** 20,
        unit: 'MiB',
        peer,
        peerValue: small.rss / 2 ** 20,
        better: 'lower',
      },
      ...(['toKloud', 'roundTrip'] as const).flatMap((kind) =>
        [50, 99].map(
          (p): BenchRow => ({
            figure: `heartbeat lag ${kind === 'toKloud' ? 'sent → recorded by Kloud' : 'round trip'} p${p}`,
            value: percentile(big[kind], p),
            unit: 'ms',
            peer,
            peerValue: percentile(small[kind], p),
            better: 'lower',
          }),
        ),
      ),
    ];
  } finally {
    for (const f of fleets) f.close();
    kloud.child.kill('SIGKILL');
    await killEverythingIn(dir);
  }
}

async function benchSessions(): Promise<BenchRow[]> {
  const klient = await startKlientProcess({
    command: [process.execPath, '--import', 'tsx', join(repo, 'packages', 'klient', 'src', 'main.ts')],
    serveArgs: ['--max-terminals', String(SESSIONS)],
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  const client = klient.connect();
  try {
    const alone = await klientTerm(client, echoLine);
    const one = (await echoLatencies(alone, 200)).slice(10);
    await alone.close();
    const terms = [];
    for (let i = 0; i < SESSIONS; i++) terms.push(await klientTerm(client, echoLine));
    // Every session typed into at once: each its own typist, 20 keystrokes each.
    const many = (await Promise.all(terms.map(async (t) => (await echoLatencies(t, 22)).slice(2)))).flat();
    for (const t of terms) await t.close();
    return [
      {
        figure: `terminal keystroke to echo p50, ${SESSIONS} sessions typed at once`,
        value: percentile(many, 50),
        unit: 'ms',
        peer: 'one session alone',
        peerValue: percentile(one, 50),
        better: 'lower',
        note: `p99 ${percentile(many, 99).toFixed(2)} vs ${percentile(one, 99).toFixed(2)} ms; ${many.length} vs ${one.length} keystrokes; Klient from source (tsx)`,
      },
    ];
  } finally {
    client.close();
    await klient.stop();
  }
}

export async function run(): Promise<BenchRow[]> {
  console.error(`fleet: ${KLIENTS} Klients on one Kloud`);
  const rows = await benchFleet();
  console.error(`terminal: ${SESSIONS} sessions on one Klient`);
  rows.push(...(await benchSessions()));
  return rows;
}
