import type { SpawnOptions } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { errnoOf, errors } from '../errors.js';
import { resolvePath } from '../fs/paths.js';

export interface CommandSpec {
  command?: string;
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
  clearEnv: boolean;
}

export interface PreparedCommand {
  file: string;
  args: string[];
  options: SpawnOptions;
  /** What to show in exec.list and logs. */
  display: { command?: string; argv?: string[]; cwd: string };
}

/**
 * Turn a wire command into spawn arguments. argv runs directly, so nothing in it is ever
 * interpreted by a shell; a command string runs with `/bin/sh -c`, not an interactive bash, so
 * no ~/.bashrc is paid for (DESIGN §8). Every process leads its own process group (detached)
 * so a kill reaches everything it started.
 */
export async function prepareCommand(spec: CommandSpec, home: string): Promise<PreparedCommand> {
  const cwd = resolvePath(home, spec.cwd ?? home);
  try {
    if (!(await stat(cwd)).isDirectory()) throw errors.invalidParams(`cwd ${cwd}: not a directory`);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw errors.notFound(`cwd ${cwd}: no such directory`, { path: cwd });
    throw err;
  }
  const env = spec.clearEnv ? { ...spec.env } : { ...process.env, ...spec.env };
  const [file, args] = spec.argv ? [spec.argv[0]!, spec.argv.slice(1)] : ['/bin/sh', ['-c', spec.command!]];
  return {
    file,
    args,
    options: { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
    display: spec.argv ? { argv: spec.argv, cwd } : { command: spec.command, cwd },
  };
}

/** The error to answer when spawn itself fails (the program could not be started). */
export function spawnFailure(err: unknown, file: string): Error {
  const errno = errnoOf(err);
  if (errno === 'ENOENT') return errors.notFound(`command not found: ${file}`, { command: file });
  if (errno === 'EACCES')
    return errors.forbidden(`permission denied: ${file} is not executable`, { command: file });
  return err instanceof Error ? err : new Error(String(err));
}

/** Signal a whole process group; false when it is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ESRCH') return false;
    throw err;
  }
}
