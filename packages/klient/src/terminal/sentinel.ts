import { randomInt } from 'node:crypto';

/**
 * A marker Klient writes into a PTY after its shell exited, to learn when everything the shell
 * wrote before it has been read: the kernel delivers a tty's output in order, so once the marker
 * comes out of the master side, nothing of the shell's output is left in flight.
 *
 * It is an APC sequence (`ESC _ … ESC \`) of digits only, so the tty's output processing
 * (onlcr, olcuc, tab expansion) leaves it untouched and a terminal that ever saw it would ignore it.
 */
export function newSentinel(): string {
  let digits = '';
  for (let i = 0; i < 4; i++) digits += randomInt(0, 1_000_000).toString().padStart(6, '0');
  return `\x1b_${digits}\x1b\\`;
}

/**
 * Finds the sentinel in a stream of chunks that may cut it anywhere. `feed` returns the text to
 * pass on (everything before the sentinel, holding back a tail that could be its beginning) and
 * whether the sentinel has been seen; text after the sentinel is dropped.
 */
export class SentinelScanner {
  private held = '';
  private found = false;

  constructor(private readonly sentinel: string) {}

  get done(): boolean {
    return this.found;
  }

  feed(chunk: string): { pass: string; done: boolean } {
    if (this.found) return { pass: '', done: true };
    const text = this.held + chunk;
    const at = text.indexOf(this.sentinel);
    if (at >= 0) {
      this.found = true;
      this.held = '';
      return { pass: text.slice(0, at), done: true };
    }
    const keep = this.partialMatchAtEnd(text);
    this.held = text.slice(text.length - keep);
    return { pass: text.slice(0, text.length - keep), done: false };
  }

  /** What was held back as a possible start of the sentinel; passed on when draining is cut short. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of the sentinel. */
  private partialMatchAtEnd(text: string): number {
    const max = Math.min(text.length, this.sentinel.length - 1);
    for (let n = max; n > 0; n--) {
      if (text.endsWith(this.sentinel.slice(0, n))) return n;
    }
    return 0;
  }
}
