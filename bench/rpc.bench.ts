/**
 * rpc: `rpc.ping` round trip and call rates on one connection, beside a raw `ws` echo of the same
 * payload measured in the same run. Goals (issue [1/7]): p50 within 1.5× of raw echo; at least
 * 30,000 pipelined calls/s on a 2-core machine.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect } from '@kk/protocol/node.js';
import WebSocket from 'ws';
import { type BenchRow, percentile } from './row.js';

const ROUND_TRIPS = 5000;
const PIPELINED = 60_000;
const WINDOW = 64;
const payload = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.ping', params: {} });

async function startServers(): Promise<{ rpc: string; echo: string; stop(): void }> {
  const script = fileURLToPath(new URL('./support/rpc-servers.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const urls = JSON.parse(line.toString()) as { rpc: string; echo: string };
  return { ...urls, stop: () => child.kill() };
}

async function echoRoundTrips(url: string, n: number): Promise<number[]> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    ws.send(payload);
    await once(ws, 'message');
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  ws.close();
  return samples;
}

async function echoPipelined(url: string, total: number, window: number): Promise<number> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  let sent = 0;
  let received = 0;
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    ws.on('message', () => {
      received++;
      if (sent < total) {
        sent++;
        ws.send(payload);
      }
      if (received === total) resolve();
    });
    for (; sent < Math.min(window, total); sent++) ws.send(payload);
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  ws.close();
  return total / seconds;
}

async function rpcPipelined(
  client: ReturnType<typeof connect>,
  total: number,
  window: number,
): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) {
      next++;
      await client.call('rpc.ping', {});
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return total / (Number(process.hrtime.bigint() - start) / 1e9);
}

export async function run(): Promise<BenchRow[]> {
  const servers = await startServers();
  try {
    const client = connect(servers.rpc, 'bench', { reconnect: false });
    await client.waitOpen();
    // Warm both paths so JIT and socket buffers settle before measuring.
    for (let i = 0; i < 2000; i++) await client.call('rpc.ping', {});
    await echoRoundTrips(servers.echo, 2000);

    // Interleave the two in rounds so drift of the machine affects both alike.
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < ROUND_TRIPS / 5; i++) {
        const start = process.hrtime.bigint();
        await client.call('rpc.ping', {});
        ours.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      theirs.push(...(await echoRoundTrips(servers.echo, ROUND_TRIPS / 5)));
    }
    const seqStart = process.hrtime.bigint();
    for (let i = 0; i < ROUND_TRIPS; i++) await client.call('rpc.ping', {});
    const seqRate = ROUND_TRIPS / (Number(process.hrtime.bigint() - seqStart) / 1e9);
    const echoSeqStart = process.hrtime.bigint();
    await echoRoundTrips(servers.echo, ROUND_TRIPS);
    const echoSeqRate = ROUND_TRIPS / (Number(process.hrtime.bigint() - echoSeqStart) / 1e9);
    const pipelined = await rpcPipelined(client, PIPELINED, WINDOW);
    const echoPipe = await echoPipelined(servers.echo, PIPELINED, WINDOW);
    client.close();
    const peer = 'raw ws echo';
    return [
      {
        figure: 'ping round trip p50',
        value: percentile(ours, 50),
        unit: 'ms',
        peer,
        peerValue: percentile(theirs, 50),
        better: 'lower',
        note: 'goal ≤ 1.5×',
      },
      {
        figure: 'ping round trip p99',
        value: percentile(ours, 99),
        unit: 'ms',
        peer,
        peerValue: percentile(theirs, 99),
        better: 'lower',
      },
      {
        figure: 'sequential calls',
        value: Math.round(seqRate),
        unit: 'calls/s',
        peer,
        peerValue: Math.round(echoSeqRate),
        better: 'higher',
      },
      {
        figure: `pipelined calls (${WINDOW} in flight)`,
        value: Math.round(pipelined),
        unit: 'calls/s',
        peer,
        peerValue: Math.round(echoPipe),
        better: 'higher',
        note: 'goal ≥ 30,000 calls/s',
      },
    ];
  } finally {
    servers.stop();
  }
}
