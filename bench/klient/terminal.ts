/**
 * Terminal sessions: keystroke-to-echo latency through Klient (WebSocket, session, PTY, back)
 * against node-pty in this process (the PTY alone), and output throughput of `cat` of a large
 * text file to an attached viewer against node-pty in-process and `ssh -tt` (timed from the
 * keystroke that starts `cat`, so the handshake is not counted). Every side runs the same shell line.
 */
import { spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RpcClient, StreamReader } from '@kk/protocol';
import * as pty from 'node-pty';
import type { OpenSsh } from '../peers/openssh.js';
import { type BenchRow, percentile } from '../row.js';

const MiB = 1024 * 1024;
const ready = '__KK_READY__';
const done = '__KK_DONE__';

/**
 * Output as it arrives, and a way to wait until it contains a marker. Each chunk is scanned once
 * (plus a marker's length of overlap), so watching 64 MiB costs no more than reading it.
 */
class OutputWatch {
  bytes = 0;
  resets = 0;
  /** Output after the last match; only a tail is kept while nobody waits for it. */
  private pending = '';
  private waiter: { needle: string; resolve: () => void } | undefined;
  private static readonly overlap = 64;

  add(data: string): void {
    this.bytes += Buffer.byteLength(data);
    const scanFrom = Math.max(0, this.pending.length - OutputWatch.overlap);
    this.pending += data;
    this.match(scanFrom);
    if (this.pending.length > 4096) this.pending = this.pending.slice(-OutputWatch.overlap);
  }

  /** Forgets output not matched yet (what came before a keystroke cannot be its echo). */
  clear(): void {
    this.pending = '';
  }

  /** Resolves once `needle` (at most 64 characters) shows up in output not yet matched. */
  next(needle: string, timeoutMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${JSON.stringify(needle)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiter = {
        needle,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.match(0);
    });
  }

  private match(from: number): void {
    const w = this.waiter;
    if (!w) return;
    const at = this.pending.indexOf(w.needle, from);
    if (at === -1) return;
    this.pending = this.pending.slice(at + w.needle.length);
    this.waiter = undefined;
    w.resolve();
  }
}

/** A terminal to type into and read from: a Klient session or a local node-pty. */
interface Term {
  watch: OutputWatch;
  write(data: string): Promise<unknown>;
  close(): Promise<void>;
}

function localTerm(line: string): Term {
  const watch = new OutputWatch();
  const proc = pty.spawn('/bin/sh', ['-c', line], {
    cols: 120,
    rows: 40,
    env: { ...process.env, TERM: 'xterm-256color' },
  });
  proc.onData((d) => watch.add(d));
  const exited = new Promise<void>((resolve) => proc.onExit(() => resolve()));
  return {
    watch,
    write: async (data) => proc.write(data),
    close: async () => {
      proc.kill('SIGHUP');
      await exited;
    },
  };
}

export async function klientTerm(client: RpcClient, line: string): Promise<Term> {
  const watch = new OutputWatch();
  const session = await client.call('terminal.create', {
    shell: '/bin/sh',
    args: ['-c', line],
    cols: 120,
    rows: 40,
  });
  const { streamId } = await client.call('terminal.attach', { sessionId: session.id });
  const reader: StreamReader = client.openReader(streamId);
  reader.onData((event) => {
    const e = event as { type: string; data?: string; screen?: string };
    if (e.type === 'output') watch.add(e.data!);
    if (e.type === 'screen') {
      // The first event is always the screen; a later one means Klient dropped our backlog.
      if (watch.bytes > 0) watch.resets++;
      watch.add(e.screen!);
    }
  });
  return {
    watch,
    write: (data) => client.call('terminal.input', { sessionId: session.id, data }),
    close: async () => {
      await client.call('terminal.kill', { sessionId: session.id });
      await reader.done.catch(() => undefined);
    },
  };
}

/** Types one character at a time into a raw-mode `cat` and times each until its echo arrives. */
export async function echoLatencies(term: Term, times: number): Promise<number[]> {
  await term.watch.next(ready);
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const ch = String.fromCharCode(97 + (i % 26));
    term.watch.clear();
    const echoed = term.watch.next(ch);
    const started = performance.now();
    const written = term.write(ch);
    await echoed;
    samples.push(performance.now() - started);
    await written;
  }
  return samples;
}

// `stty raw -echo`: only cat echoes, once per keystroke, as a full-screen program would.
export const echoLine = `stty raw -echo && printf ${ready} && exec cat`;

export async function benchTerminal(client: RpcClient, ssh: OpenSsh): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const samples = { klient: [] as number[], local: [] as number[] };
  // Two rounds each, interleaved, so drift on a busy machine hits both sides alike.
  for (let round = 0; round < 2; round++) {
    for (const side of ['klient', 'local'] as const) {
      const term = side === 'klient' ? await klientTerm(client, echoLine) : localTerm(echoLine);
      samples[side].push(...(await echoLatencies(term, 200)).slice(10));
      await term.close();
    }
  }
  const klientP50 = percentile(samples.klient, 50);
  const localP50 = percentile(samples.local, 50);
  rows.push({
    figure: 'terminal keystroke to echo p50',
    value: klientP50,
    unit: 'ms',
    peer: 'node-pty in-process',
    peerValue: localP50,
    better: 'lower',
    note: `Klient adds ${(klientP50 - localP50).toFixed(3)} ms (goal ≤ 1 ms); p99 ${percentile(samples.klient, 99).toFixed(2)} vs ${percentile(samples.local, 99).toFixed(2)} ms; 380 keystrokes each`,
  });
  rows.push(...(await benchOutput(client, ssh)));
  return rows;
}

/** 64 MiB of base64 text in 76-character lines: printable, so no side interprets escapes. */
async function makeTextFile(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const raw = Buffer.alloc(57 * 1024);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919 + (i >> 8)) & 0xff;
    const lines = raw
      .toString('base64')
      .match(/.{1,76}/g)!
      .join('\n');
    const block = Buffer.from(`${lines}\n`);
    for (let written = 0; written < size; written += block.length) {
      await handle.write(block, 0, Math.min(block.length, size - written));
    }
  } finally {
    await handle.close();
  }
}

/** Seconds from the go keystroke until the done marker, `cat` having waited for it. */
async function catThrough(term: Term): Promise<number> {
  await term.watch.next(ready);
  const finished = term.watch.next(done);
  const started = performance.now();
  await term.write('\r');
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await term.close();
  return seconds;
}

/** Its own connection: a ControlMaster client whose stdin is a pipe gets no remote PTY. */
async function sshCat(ssh: OpenSsh, line: string): Promise<number> {
  const child = spawn('ssh', [...ssh.sshArgs(), '-tt', line], { stdio: ['pipe', 'pipe', 'ignore'] });
  const watch = new OutputWatch();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => watch.add(d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await watch.next(ready);
  const finished = watch.next(done);
  const started = performance.now();
  child.stdin.write('\r');
  await finished;
  const seconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  await exited;
  return seconds;
}

async function benchOutput(client: RpcClient, ssh: OpenSsh): Promise<BenchRow[]> {
  const size = 64 * MiB;
  const mib = size / MiB;
  const file = join(ssh.dir, 'terminal-text');
  await makeTextFile(file, size);
  try {
    const line = `printf ${ready}; read go; cat ${file}; printf ${done}; exec sleep 60`;
    const seconds = { klient: [] as number[], local: [] as number[], ssh: [] as number[] };
    let resets = 0;
    // Two rounds, the three sides in turn; the best of each (the least disturbed run).
    for (let round = 0; round < 2; round++) {
      const klient = await klientTerm(client, line);
      seconds.klient.push(await catThrough(klient));
      resets += klient.watch.resets;
      seconds.local.push(await catThrough(localTerm(line)));
      seconds.ssh.push(await sshCat(ssh, line));
    }
    const value = mib / Math.min(...seconds.klient);
    const note = `best of 2; cat of ${mib} MiB of text to an attached viewer (the PTY turns \\n into \\r\\n)${resets ? `; Klient sent ${resets} screen resets (viewer fell behind)` : ''}`;
    const figure = `terminal output, cat ${mib} MiB`;
    return [
      {
        figure,
        value,
        unit: 'MiB/s',
        peer: 'node-pty in-process',
        peerValue: mib / Math.min(...seconds.local),
        better: 'higher',
        note,
      },
      {
        figure,
        value,
        unit: 'MiB/s',
        peer: 'ssh -tt',
        peerValue: mib / Math.min(...seconds.ssh),
        better: 'higher',
        note,
      },
    ];
  } finally {
    await rm(file, { force: true });
  }
}
