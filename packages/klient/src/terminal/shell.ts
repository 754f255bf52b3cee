import { accessSync, constants, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, isAbsolute, resolve } from 'node:path';
import { inheritedEnvironment } from '../environment.js';
import { errors } from '../errors.js';

/** The user's login shell from the password database, else $SHELL, else /bin/sh. */
export function loginShell(): string {
  try {
    const shell = userInfo().shell;
    if (shell) return shell;
  } catch {
    // No passwd entry (a container with an arbitrary uid): fall through.
  }
  return process.env.SHELL || '/bin/sh';
}

/**
 * Arguments that start a known shell interactive without its rc files, so a slow ~/.bashrc
 * (DESIGN §8) is paid only when asked for with `login` (then the shell reads its profile, which
 * on most systems sources the rc file as well). Unknown programs get no arguments.
 */
export function shellArgs(shell: string, login: boolean): string[] {
  const name = basename(shell);
  if (login) return ['-l'];
  switch (name) {
    case 'bash':
      return ['--norc', '--noprofile'];
    case 'zsh':
      return ['-f'];
    case 'fish':
      return ['--no-config'];
    default:
      return [];
  }
}

/** Variables that would make programs think they run inside another multiplexer or size. */
const misleading = new Set(['TMUX', 'TMUX_PANE', 'STY', 'WINDOW', 'WINDOWID', 'TERMCAP', 'COLUMNS', 'LINES']);

/** The session's environment: Klient's, minus its private and misleading variables, plus `extra`. */
export function sessionEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = inheritedEnvironment();
  for (const name of misleading) delete env[name];
  env.TERM = 'xterm-256color';
  env.COLORTERM = 'truecolor';
  return { ...env, ...extra };
}

/** `cwd` made absolute (relative to `home`) and checked to be a directory, or a clear error. */
export function resolveCwd(cwd: string | undefined, home: string): string {
  const dir = cwd === undefined ? home : isAbsolute(cwd) ? cwd : resolve(home, cwd);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw errors.notFound(`working directory ${dir} does not exist; pass an existing cwd`, { cwd: dir });
  }
  if (!isDir) throw errors.invalidParams(`working directory ${dir} is not a directory`, { cwd: dir });
  return dir;
}

/** `shell` checked to be an executable file, or a clear error. Relative names are looked up in PATH. */
export function resolveProgram(program: string, path = process.env.PATH ?? ''): string {
  const candidates = program.includes('/')
    ? [program]
    : path
        .split(':')
        .filter(Boolean)
        .map((d) => `${d}/${program}`);
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not this one.
    }
  }
  throw errors.notFound(`shell ${program} is not an executable file on this machine`, { shell: program });
}
