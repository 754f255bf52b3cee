import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type SpawnedKlient, spawnKlient } from '../testing/harness.js';
import { ClientTerminal, screenText, ViewerEvents } from './test-helpers.js';
import type { ViewerEvent } from './viewer.js';

/**
 * The stated bound: with `yes` writing as fast as it can for 10 s to a viewer that reads
 * nothing, the serving process's peak RSS (VmHWM) grows by less than this over its RSS before
 * the stall. Without flow control the same 10 s would queue gigabytes.
 */
const RSS_GROWTH_BOUND_MIB = 64;
const STALL_MS = 10_000;

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/**
 * Attach over a raw WebSocket and then stop reading it (`ws.pause()` stops reading the TCP
 * socket), so the backpressure Klient sees is the kernel's and the socket's, not a client library's.
 */
async function stalledViewer(sessionId: string) {
  const ws = new WebSocket(klient.url, {
    headers: { authorization: `Bearer ${await klient.token('owner')}` },
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const events = new ViewerEvents();
  const attached = new Promise<void>((resolve, reject) => {
    ws.on('message', (raw: Buffer) => {
      const message = JSON.parse(raw.toString('utf8'));
      if (message.id === 1) {
        if (message.error) reject(new Error(message.error.message));
        ws.pause();
        resolve();
      } else if (message.method === 'stream.data') {
        events.record(message.params.data as ViewerEvent);
      }
    });
  });
  ws.send(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'terminal.attach',
      params: { sessionId, readOnly: true },
    }),
  );
  await attached;
  return { events, resume: () => ws.resume(), close: () => ws.terminate() };
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

let klient: SpawnedKlient;
let dir: string;
let client: RpcClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'klient-flow-'));
  const home = join(dir, 'home');
  await mkdir(home);
  klient = await spawnKlient({ dir, home });
  client = await klient.connect('owner');
});

afterAll(async () => {
  await klient?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('terminal flow control in a real `klient serve` process', () => {
  it(`keeps RSS growth under ${RSS_GROWTH_BOUND_MIB} MiB while yes runs ${STALL_MS / 1000} s to a stalled viewer`, {
    timeout: 120_000,
  }, async () => {
    const pid = klient.child.pid!;
    const { id } = await client.call('terminal.create', { args: ['-c', 'exec yes'] });
    // A viewer that stops reading its socket altogether, as a frozen browser tab does.
    const stalled = await stalledViewer(id);
    const before = statusKiB(pid, 'VmRSS');
    let peak = before;
    const deadline = Date.now() + STALL_MS;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      peak = Math.max(peak, statusKiB(pid, 'VmRSS'));
    }
    const hwm = statusKiB(pid, 'VmHWM');
    const growthMiB = (Math.max(peak, hwm) - before) / 1024;
    console.log(
      `terminal flow: RSS before ${(before / 1024).toFixed(1)} MiB, peak sampled ${(peak / 1024).toFixed(1)} MiB, ` +
        `VmHWM ${(hwm / 1024).toFixed(1)} MiB, growth ${growthMiB.toFixed(1)} MiB (bound ${RSS_GROWTH_BOUND_MIB} MiB)`,
    );
    expect(growthMiB).toBeLessThan(RSS_GROWTH_BOUND_MIB);

    // And the bound holds because the PTY is paused, not because Klient is slow: yes is blocked
    // in write(2) and uses no CPU at all.
    const shellPid = (await client.call('terminal.list', {})).sessions[0]!.pid;
    const cpuBefore = cpuTicks(shellPid);
    await new Promise((r) => setTimeout(r, 1000));
    expect(cpuTicks(shellPid)).toBe(cpuBefore);

    // The session was held back, not broken: when the viewer reads again, yes's output
    // continues in order.
    stalled.resume();
    await stalled.events.until((v) => v.output().length >= 2 * 1024 * 1024);
    const text = stalled.events.output();
    expect(text.slice(text.indexOf('y\r\n'), text.lastIndexOf('y\r\n'))).toMatch(/^(y\r\n)+$/);
    stalled.close();
    await client.call('terminal.kill', { sessionId: id, signal: 'SIGKILL' });
  });

  // Enough output to fill the frozen viewer's socket buffers (kernel and WebSocket, a few MB on
  // loopback) and then its 1 MiB queue. Slow on a loaded machine, hence the long timeout.
  it('resyncs a stalled viewer from a fresh screen while another viewer keeps the program running', {
    timeout: 180_000,
  }, async () => {
    const { id } = await client.call('terminal.create', { args: ['-c', 'seq 1 1000000; read x'] });
    const fast = new ViewerEvents();
    const { streamId } = await client.call('terminal.attach', { sessionId: id, readOnly: true });
    client.openReader(streamId).onData((chunk) => fast.record(chunk as ViewerEvent));
    const stalled = await stalledViewer(id);
    // All 7.9 MB of output reach the reading viewer, in order and without a resync, although the
    // other viewer reads nothing: once dropped, the stalled one holds nobody back.
    const screensOf = (v: ViewerEvents) => v.events.filter((e) => e.type === 'screen').length;
    await fast.until((v) => v.output().endsWith('\r\n1000000\r\n') || screensOf(v) > 1);
    expect(screensOf(fast)).toBe(1);
    stalled.resume();
    await stalled.events.until((v) => screensOf(v) >= 2);
    const screens = stalled.events.events.filter((e) => e.type === 'screen');
    const lastScreen = screens[screens.length - 1]!;
    const rebuilt = new ClientTerminal().applyAll([lastScreen]);
    await rebuilt.settled();
    expect(screenText(rebuilt.term)[22]).toBe('1000000');
    stalled.close();
    await client.call('terminal.kill', { sessionId: id, signal: 'SIGKILL' });
  });
});
