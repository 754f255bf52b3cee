import { markActivity } from '../activity.js';
import { type CommandSpec, prepareCommand, signalGroup, spawnFailure } from './command.js';
import { OutputBuffer } from './output-buffer.js';
import type { ProcessTable } from './process-table.js';

export interface RunSpec extends CommandSpec {
  stdin?: Uint8Array;
  timeoutMs: number;
  maxOutputBytes: number;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
}

/**
 * Run a command to completion. Output past the cap is read and dropped (the process never
 * blocks on a full pipe) and flagged truncated. On timeout, or when `signal` aborts (the caller
 * disconnected), the whole process group gets SIGKILL. Started by `processes`, which keeps the
 * group while it runs, to be killed when Klient exits or after a crash. Resolves once the process
 * has exited and its output pipes have closed.
 */
export async function runCommand(
  spec: RunSpec,
  home: string,
  processes: ProcessTable,
  signal?: AbortSignal,
): Promise<RunResult> {
  markActivity();
  const prepared = await prepareCommand(spec, home);
  const { child, untrack } = processes.spawn(prepared);
  const stdout = new OutputBuffer(spec.maxOutputBytes);
  const stderr = new OutputBuffer(spec.maxOutputBytes);
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  // A process that exits without reading its stdin makes our write fail with EPIPE: not our error.
  child.stdin!.on('error', () => {});
  child.stdin!.end(spec.stdin ?? undefined);

  let timedOut = false;
  const kill = () => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL');
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, spec.timeoutMs);
  signal?.addEventListener('abort', kill, { once: true });
  try {
    const [exitCode, exitSignal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
      child.once('error', (err) => reject(spawnFailure(err, prepared.file)));
      child.once('close', (code, sig) => resolve([code, sig]));
    });
    return {
      exitCode,
      signal: exitSignal,
      stdout: stdout.bytes(),
      stderr: stderr.bytes(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      timedOut,
    };
  } finally {
    untrack();
    clearTimeout(timer);
    signal?.removeEventListener('abort', kill);
  }
}
