/**
 * `kd exec`: run one process on the machine as if it ran here. stdout and stderr arrive as
 * binary streams and go to ours, with backpressure; our stdin goes to its stdin and EOF closes
 * it; Ctrl-C signals its whole process group (SIGINT, then SIGKILL on a second Ctrl-C); the
 * result is its exit code (128 + signal number when a signal ended it).
 */
import type { Readable, Writable } from 'node:stream';
import type { RpcClient } from '@kk/protocol/client/client.js';
import type { StreamReader } from '@kk/protocol/streams/reader.js';
import { writeWithBackpressure } from '../output/streams.js';
import { type RemoteExit, shellExitCode } from './exit-status.js';

export interface ExecRequest {
  /** One element: run through /bin/sh -c. Several: run argv directly, no shell. */
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface ExecIo {
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  /** Subscribes to interrupts (Ctrl-C); returns the unsubscribe. */
  onInterrupt?: (listener: () => void) => () => void;
}

const STDIN_CHUNK = 256 * 1024;

export async function runRemote(client: RpcClient, request: ExecRequest, io: ExecIo): Promise<number> {
  const what = request.args.length === 1 ? { command: request.args[0]! } : { argv: request.args };
  const started = await client.call('exec.start', {
    ...what,
    cwd: request.cwd,
    env: request.env,
    timeoutMs: request.timeoutMs,
  });
  const stdout = client.openReader(started.stdout);
  const stderr = client.openReader(started.stderr);

  let interrupts = 0;
  const unsubscribe = io.onInterrupt?.(() => {
    interrupts += 1;
    const signal = interrupts === 1 ? 'SIGINT' : 'SIGKILL';
    client
      .call('exec.kill', { id: started.id, signal })
      .then(() => {
        if (signal === 'SIGINT')
          io.stderr.write('kd: sent SIGINT to the remote process group; Ctrl-C again to kill it\n');
      })
      .catch(() => {});
  });

  // Neither rejects: a process that stops reading its stdin is not an error.
  void (io.stdin ? pumpStdin(client, started.id, io.stdin) : closeStdin(client, started.id));
  try {
    const [exit] = await Promise.all([drain(stdout, io.stdout), drain(stderr, io.stderr)]);
    return shellExitCode(exit);
  } finally {
    unsubscribe?.();
    stopStdin(io.stdin);
  }
}

async function drain(reader: StreamReader, out: Writable): Promise<RemoteExit> {
  for await (const chunk of reader) {
    if (chunk instanceof Uint8Array) await writeWithBackpressure(out, chunk);
  }
  return (await reader.done) as RemoteExit;
}

async function closeStdin(client: RpcClient, id: string): Promise<void> {
  await client.call('exec.write', { id, close: true }).catch(() => {});
}

/**
 * Sends stdin one chunk at a time, each after the previous was accepted: the remote pipe's
 * backpressure reaches our read side, so a large stdin never piles up in memory.
 */
async function pumpStdin(client: RpcClient, id: string, stdin: Readable): Promise<void> {
  try {
    for await (const chunk of stdin as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += STDIN_CHUNK) {
        const data = chunk.subarray(at, at + STDIN_CHUNK).toString('base64');
        await client.call('exec.write', { id, data, encoding: 'base64' });
      }
    }
    await client.call('exec.write', { id, close: true });
  } catch {
    // The process exited (or closed its stdin) before reading everything: like a local pipe, the rest is dropped.
  }
}

/** The remote process is gone: stop reading our stdin (it would keep kd alive) and end the pump. */
function stopStdin(stdin: Readable | null): void {
  stdin?.destroy();
}
