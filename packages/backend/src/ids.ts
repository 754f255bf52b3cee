import { randomBytes } from 'node:crypto';

let lastMs = -1;
let sequence = 0;

/**
 * A new row id: 12 hex digits of milliseconds, 4 of a per-millisecond sequence, 12 random. Ids
 * sort by creation time (within one process strictly, across processes to the millisecond), so
 * `id > cursor` pages in creation order on both stores without a second sort key.
 */
export function newId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else {
    // Same millisecond (or the clock stepped back): keep counting from the last one we used.
    sequence++;
    if (sequence > 0xffff) {
      lastMs++;
      sequence = 0;
    }
  }
  return (
    lastMs.toString(16).padStart(12, '0') +
    sequence.toString(16).padStart(4, '0') +
    randomBytes(6).toString('hex')
  );
}

/** An id shape check so a bad path parameter is a 404, never a database error. */
export function isId(value: string): boolean {
  return /^[0-9a-f]{28}$/.test(value);
}
