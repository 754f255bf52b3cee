import { homedir } from 'node:os';

/**
 * The account's home directory, or undefined where there is none: `os.homedir()` throws for a
 * bare uid with no HOME and no passwd entry (a container's), which must not stop a start.
 */
export function accountHome(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}
