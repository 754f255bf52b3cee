/**
 * Runs the real `kd` executable (packages/cli/bin/kd.js) as a child process, with its own
 * config directory, and collects its output and exit code.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KD = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'packages',
  'cli',
  'bin',
  'kd.js',
);

export interface KdResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface KdOptions {
  env?: Record<string, string>;
  stdin?: Buffer | string;
  /** Called with the child once spawned (to signal it, or to feed stdin slowly). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
}

export function kd(args: string[], options: KdOptions = {}): Promise<KdResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KD, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err }));
    options.onSpawn?.(child);
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else if (!options.onSpawn) child.stdin.end();
  });
}
