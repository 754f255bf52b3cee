/**
 * Progress on stderr. On a TTY one line redrawn in place (a bar, a percentage and a message),
 * at most every 100 ms; otherwise plain lines, one per message change, so logs stay readable.
 */
export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Force plain lines even on a TTY. */
  plain?: boolean;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastLine = '';
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = !options.plain && Boolean(this.stream.isTTY);
  }

  get interactive(): boolean {
    return this.tty;
  }

  /** `fraction` in 0..1, or null when unknown. */
  update(fraction: number | null, message: string, force = false): void {
    if (this.tty) {
      const now = Date.now();
      if (!force && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r\x1b[K${this.render(fraction, message)}`);
      this.drawn = true;
      return;
    }
    const pct = fraction === null ? '' : `${Math.floor(fraction * 100)}% `;
    const line = `${pct}${message}`;
    if (message === this.lastLine.replace(/^\d+% /, '')) return;
    this.lastLine = line;
    this.stream.write(`${line}\n`);
  }

  /** Leaves the last state on screen and moves to a new line. */
  done(message?: string): void {
    if (this.tty) {
      if (message !== undefined) this.stream.write(`\r\x1b[K${message}\n`);
      else if (this.drawn) this.stream.write('\n');
    } else if (message !== undefined) {
      this.stream.write(`${message}\n`);
    }
    this.drawn = false;
  }

  private render(fraction: number | null, message: string): string {
    const columns = this.stream.columns ?? 80;
    const width = Math.max(10, Math.min(30, columns - 50));
    if (fraction === null) return message.slice(0, columns - 1);
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
    return `${bar} ${message}`.slice(0, columns - 1);
  }
}
