import type { SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { inheritedEnvironment } from '../environment.js';
import { errnoOf, errors } from '../errors.js';
import { resolvePath } from '../fs/paths.js';

/** The environment variable that tags a command and its descendants (see PreparedCommand.tag). */
export const COMMAND_TAG = 'KLIENT_COMMAND';

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
  /**
   * The value of COMMAND_TAG in the command's environment (inherited by everything it starts),
   * by which the next Klient finds what this one started if it is killed; none with clearEnv,
   * whose environment is exactly the caller's.
   */
  tag?: string;
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
  const tag = spec.clearEnv ? undefined : randomBytes(8).toString('hex');
  const env: Record<string, string> = spec.clearEnv
    ? { ...spec.env }
    : { ...inheritedEnvironment(), ...spec.env, [COMMAND_TAG]: tag! };
  const [file, args] = spec.argv
    ? [await findProgram(spec.argv[0]!, env.PATH, cwd), spec.argv.slice(1)]
    : ['/bin/sh', ['-c', spec.command!]];
  return {
    file,
    args,
    options: { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'], argv0: spec.argv?.[0] },
    display: spec.argv ? { argv: spec.argv, cwd } : { command: spec.command, cwd },
    tag,
  };
}

/**
 * Find a program the way execvp(3) would, but tell apart "not there" (NotFound) from "there but
 * not executable" (Forbidden): execvp answers EACCES for a missing program whenever some PATH
 * directory is unreadable, which would send the caller looking in the wrong place.
 */
async function findProgram(name: string, path: string | undefined, cwd: string): Promise<string> {
  if (name.includes('/')) return isAbsolute(name) ? name : resolve(cwd, name);
  let denied: string | undefined;
  for (const dir of (path ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const candidate = resolve(cwd, dir || '.', name);
    const found = await stat(candidate).catch(() => undefined); // unreadable PATH dirs are skipped, as execvp does
    if (!found?.isFile()) continue;
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      denied ??= candidate;
    }
  }
  if (denied) throw errors.forbidden(`permission denied: ${denied} is not executable`, { command: name });
  throw errors.notFound(`command not found: ${name} (not in PATH)`, { command: name });
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
