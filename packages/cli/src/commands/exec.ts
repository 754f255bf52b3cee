import type { Command } from 'commander';
import { CliError, ExitCode, toCliError } from '../errors.js';
import { runRemote } from '../exec/run-remote.js';
import { connectMachine } from '../machine/connect.js';
import { resolveTarget } from '../machine/target.js';
import { parseDuration, parseEnvPairs } from './parse.js';

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description(
      'Run a command on a machine: stdout/stderr/stdin are piped, Ctrl-C signals the remote process group, ' +
        'and kd exits with its exit code (255 when kd itself failed). One argument runs through /bin/sh -c; ' +
        'several run as argv without a shell.',
    )
    .argument('<machine>', 'machine id or label, or ws://HOST:PORT of a Klient')
    .argument('<command...>', 'the command (put it after --)')
    .option('--token <token>', 'access token, for a direct Klient URL')
    .option('-C, --cwd <dir>', 'working directory on the machine (default: home)')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collect, [] as string[])
    .option('-n, --no-stdin', 'do not forward stdin (the remote process reads EOF)')
    .option('--timeout <duration>', 'kill the remote process after this long (e.g. 30s, 5m)')
    .action(async (machine: string, command: string[], opts: ExecOptions) => {
      const code = await execCommand(machine, command, opts).catch((error) => {
        // kd's own failures must not pass for a remote exit code: 255, as ssh does.
        const e = toCliError(error);
        throw new CliError(ExitCode.ExecFailure, e.message);
      });
      process.exitCode = code;
    });
}

interface ExecOptions {
  token?: string;
  cwd?: string;
  env: string[];
  stdin: boolean;
  timeout?: string;
}

async function execCommand(machine: string, command: string[], opts: ExecOptions): Promise<number> {
  const env = parseEnvPairs(opts.env);
  const timeoutMs = opts.timeout ? parseDuration(opts.timeout, '--timeout') : undefined;
  const client = await connectMachine(await resolveTarget(machine, { token: opts.token }));
  try {
    return await runRemote(
      client,
      { args: command, cwd: opts.cwd, env, timeoutMs },
      {
        stdin: opts.stdin ? process.stdin : null,
        stdout: process.stdout,
        stderr: process.stderr,
        onInterrupt: (listener) => {
          process.on('SIGINT', listener);
          return () => process.off('SIGINT', listener);
        },
      },
    );
  } finally {
    client.close();
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
