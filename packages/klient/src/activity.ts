/**
 * When a user last did something on this machine, for `klient.usage` (Kloud stops idle
 * machines from it). Any fs write, exec and terminal input counts; reads and watches do not,
 * so a file tree left open in a browser tab does not keep a machine alive.
 *
 * One tracker per process: activity is a property of the machine, not of a connection.
 */

const startedAt = Date.now();
let lastActivityAt = startedAt;

/** Record user activity now. Cheap enough to call on every keystroke. */
export function markActivity(): void {
  lastActivityAt = Date.now();
}

/** Whole seconds since the last user activity (or since Klient started, if none yet). */
export function secondsSinceActivity(): number {
  return Math.max(0, Math.floor((Date.now() - lastActivityAt) / 1000));
}

/** Epoch milliseconds of the last user activity (or of the start). */
export function lastActivity(): number {
  return lastActivityAt;
}
