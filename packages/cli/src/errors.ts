/**
 * Every way kd fails, as an exit code a script can branch on, and the one error class commands
 * throw. Messages say what was wrong and what to do next. `kd exec` is the exception: it exits
 * with the remote command's own code, and with 255 when kd itself failed (as ssh does).
 */
import { AppCode, isRpcError, StandardCode } from '@kk/protocol/errors.js';

export const ExitCode = {
  Ok: 0,
  /** Anything not covered below (an internal error of Kloud or Klient, a local I/O error). */
  Failure: 1,
  /** Bad command line or bad input file: nothing was sent. */
  Usage: 2,
  /** Not logged in, or the token was refused or has expired: run `kd login`. */
  Unauthenticated: 3,
  /** You are known but not allowed (readonly share, not the owner). */
  Forbidden: 4,
  /** No such machine, stack, template, credential, user or path. */
  NotFound: 5,
  /** Refused because of the current state: a stale ifMatch, a machine in the wrong state, a name taken. */
  Conflict: 6,
  /** Kloud or the machine could not be reached, or went away mid-call. Retrying may help. */
  Unavailable: 7,
  /** A deadline passed. */
  Timeout: 8,
  /** Interrupted by Ctrl-C (128 + SIGINT). */
  Interrupted: 130,
  /** The reader of stdout went away (128 + SIGPIPE), as for any program in a pipeline. */
  BrokenPipe: 141,
  /** `kd exec` only: kd itself failed (the remote command's code is passed through otherwise). */
  ExecFailure: 255,
} as const;

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const cliErrors = {
  usage: (message: string) => new CliError(ExitCode.Usage, message),
  notFound: (message: string) => new CliError(ExitCode.NotFound, message),
  conflict: (message: string) => new CliError(ExitCode.Conflict, message),
  unauthenticated: (message: string) => new CliError(ExitCode.Unauthenticated, message),
  unavailable: (message: string) => new CliError(ExitCode.Unavailable, message),
  failure: (message: string) => new CliError(ExitCode.Failure, message),
};

const byRpcCode: Record<number, number> = {
  [AppCode.Unauthenticated]: ExitCode.Unauthenticated,
  [AppCode.Forbidden]: ExitCode.Forbidden,
  [AppCode.NotFound]: ExitCode.NotFound,
  [AppCode.Conflict]: ExitCode.Conflict,
  [AppCode.InvalidState]: ExitCode.Conflict,
  [AppCode.TooLarge]: ExitCode.Usage,
  [AppCode.RateLimited]: ExitCode.Unavailable,
  [AppCode.Timeout]: ExitCode.Timeout,
  [AppCode.Unavailable]: ExitCode.Unavailable,
  [AppCode.Cancelled]: ExitCode.Interrupted,
  [StandardCode.InvalidParams]: ExitCode.Usage,
  [StandardCode.MethodNotFound]: ExitCode.Failure,
};

const byHttpStatus: Record<number, number> = {
  400: ExitCode.Usage,
  401: ExitCode.Unauthenticated,
  403: ExitCode.Forbidden,
  404: ExitCode.NotFound,
  409: ExitCode.Conflict,
  412: ExitCode.Conflict,
  413: ExitCode.Usage,
  422: ExitCode.Usage,
  428: ExitCode.Conflict,
  429: ExitCode.Unavailable,
  502: ExitCode.Unavailable,
  503: ExitCode.Unavailable,
  504: ExitCode.Timeout,
};

/** What to do next, for the failures a user can fix. */
function hintFor(exitCode: number): string {
  if (exitCode === ExitCode.Unauthenticated) return ' (run `kd login URL` again, or pass a fresh --token)';
  return '';
}

export function exitCodeForHttp(status: number): number {
  return byHttpStatus[status] ?? ExitCode.Failure;
}

/** Any thrown value as a CliError: RPC errors keep their meaning, the rest is a plain failure. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isRpcError(error)) {
    const exitCode = byRpcCode[error.code] ?? ExitCode.Failure;
    return new CliError(exitCode, `${error.message}${hintFor(exitCode)}`);
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return new CliError(ExitCode.NotFound, e.message);
  if (e?.code === 'ECONNREFUSED') return new CliError(ExitCode.Unavailable, `${e.message}: is it running?`);
  return new CliError(ExitCode.Failure, e?.message ?? String(error));
}

export function httpError(status: number, message: string): CliError {
  const exitCode = exitCodeForHttp(status);
  return new CliError(exitCode, `${message}${hintFor(exitCode)}`);
}
