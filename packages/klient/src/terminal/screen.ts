// Both packages are webpack bundles: Node's ESM loader sees only their default export.
import serializeAddon from '@xterm/addon-serialize';
import headless, { type Terminal as HeadlessTerminal } from '@xterm/headless';
import { screenExtras } from './screen-extras.js';

export interface ScreenSnapshot {
  /** Escape sequences that rebuild the screen on a reset terminal of this size. */
  screen: string;
  cols: number;
  rows: number;
}

export interface ScreenOptions {
  cols: number;
  rows: number;
  /** Lines kept above the screen, as in a terminal window's scrollback. */
  scrollback: number;
  /** Called with true when output waiting to be parsed passes `backlogBytes`, false when it drains. */
  onBacklog(behind: boolean): void;
  backlogBytes: number;
}

/**
 * The server-side model of one session's terminal: every byte of output is fed to a headless
 * xterm, and a viewer that attaches gets the screen serialized from it rather than a replay.
 *
 * xterm parses asynchronously, so every operation that must see "everything written so far" is
 * queued behind the writes (a write callback runs right after its own data is parsed and before
 * the next write's). That is what makes a snapshot line up exactly with the stream that follows.
 */
export class ScreenModel {
  private readonly term: HeadlessTerminal;
  private readonly serializer = new serializeAddon.SerializeAddon();
  private readonly options: ScreenOptions;
  private pendingChars = 0;
  private behind = false;
  private disposed = false;

  constructor(options: ScreenOptions) {
    this.options = options;
    this.term = new headless.Terminal({
      cols: options.cols,
      rows: options.rows,
      scrollback: options.scrollback,
      allowProposedApi: true,
    });
    this.term.loadAddon(this.serializer);
  }

  write(data: string): void {
    if (this.disposed) return;
    this.pendingChars += data.length;
    this.term.write(data, () => {
      this.pendingChars -= data.length;
      if (this.behind && this.pendingChars <= this.options.backlogBytes / 2) this.setBehind(false);
    });
    if (!this.behind && this.pendingChars > this.options.backlogBytes) this.setBehind(true);
  }

  /** Resize at this point of the output: data written before is parsed at the old size. */
  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.term.write('', () => this.term.resize(cols, rows));
  }

  /**
   * The screen once everything written before this call has been parsed. The caller must start
   * collecting output for its viewer in the same synchronous step, so nothing falls between.
   */
  snapshot(): Promise<ScreenSnapshot> {
    return new Promise((resolve, reject) => {
      if (this.disposed) {
        reject(new Error('screen model disposed'));
        return;
      }
      this.term.write('', () => resolve(this.capture()));
    });
  }

  /**
   * Take no more output and free the terminal once what was written has been parsed: xterm keeps
   * parsing queued writes after dispose(), into freed buffers, so disposal waits for them, and
   * snapshots asked for before this still resolve.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.term.write('', () => this.term.dispose());
  }

  private capture(): ScreenSnapshot {
    return {
      screen: this.serializer.serialize() + screenExtras(this.term),
      cols: this.term.cols,
      rows: this.term.rows,
    };
  }

  private setBehind(behind: boolean): void {
    this.behind = behind;
    this.options.onBacklog(behind);
  }
}
