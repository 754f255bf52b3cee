import { constants } from 'node:os';

export interface RemoteExit {
  exitCode: number | null;
  signal: string | null;
  timedOut?: boolean;
}

/** The code a shell would report for this exit: the code itself, or 128 + the signal's number. */
export function shellExitCode(exit: RemoteExit): number {
  if (exit.exitCode !== null) return exit.exitCode;
  const number = exit.signal ? constants.signals[exit.signal as keyof typeof constants.signals] : undefined;
  return 128 + (number ?? 0);
}
