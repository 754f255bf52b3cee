/**
 * The escape sequence of `kd term`: Ctrl-] then `d` detaches (the session keeps running);
 * Ctrl-] Ctrl-] sends one Ctrl-]; Ctrl-] then anything else sends both. Works across reads, since
 * a terminal may deliver the two keys in separate chunks.
 */
export const ESCAPE = '\x1d';

export type KeyAction = { type: 'input'; data: string } | { type: 'detach' };

export class DetachKey {
  private pending = false;

  /** Splits one chunk of typed input into what to send and whether to detach. */
  feed(chunk: string): KeyAction[] {
    const actions: KeyAction[] = [];
    let out = '';
    for (const ch of chunk) {
      if (this.pending) {
        this.pending = false;
        if (ch === 'd') {
          if (out) actions.push({ type: 'input', data: out });
          actions.push({ type: 'detach' });
          return actions;
        }
        out += ch === ESCAPE ? ESCAPE : ESCAPE + ch;
        continue;
      }
      if (ch === ESCAPE) this.pending = true;
      else out += ch;
    }
    if (out) actions.push({ type: 'input', data: out });
    return actions;
  }
}
