/**
 * What the terminal tests share: a viewer sink that records and can stall like a transport
 * whose reader stopped, a client-side terminal that applies a viewer's stream as a browser
 * would, and a cell-by-cell description of a terminal to compare two of them.
 */
import headless, { type Terminal } from '@xterm/headless';
import { afterEach } from 'vitest';
import { TerminalManager, type TerminalManagerOptions } from './manager.js';
import type { ViewerEnd, ViewerEvent, ViewerSink } from './viewer.js';

let managers: TerminalManager[] = [];
afterEach(() => {
  for (const m of managers) m.close();
  managers = [];
});

/** A manager running /bin/sh by default, closed (its sessions hung up) after the test. */
export function testManager(options: Partial<TerminalManagerOptions> = {}): TerminalManager {
  const m = new TerminalManager({ shell: '/bin/sh', ...options });
  managers.push(m);
  return m;
}

/** Events of one viewer's stream as they arrive, and a way to wait for a condition over them. */
export class ViewerEvents {
  readonly events: ViewerEvent[] = [];
  private listeners: Array<() => void> = [];
  private text = '';

  record(event: ViewerEvent): void {
    this.events.push(event);
    if (event.type === 'output') this.text += event.data;
    for (const l of [...this.listeners]) l();
  }

  /** All output text received so far (screens excluded). */
  output(): string {
    return this.text;
  }

  /** Resolves once `predicate` holds over the events received. */
  until(predicate: (self: this) => boolean): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate(this)) return;
        this.listeners = this.listeners.filter((l) => l !== check);
        resolve();
      };
      this.listeners.push(check);
    });
  }
}

/** A sink that records, and can stall like a transport whose reader stopped. */
export class RecordingSink extends ViewerEvents implements ViewerSink {
  final: ViewerEnd | null = null;
  readonly ended: Promise<ViewerEnd>;
  private stalled = false;
  private waiters: Array<() => void> = [];
  private resolveEnded!: (final: ViewerEnd) => void;

  constructor() {
    super();
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  send(event: ViewerEvent): void {
    this.record(event);
  }

  ready(): Promise<void> {
    if (!this.stalled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  end(final: ViewerEnd): void {
    this.final = final;
    this.resolveEnded(final);
  }

  stall(): void {
    this.stalled = true;
  }

  unstall(): void {
    this.stalled = false;
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A terminal fed a viewer's stream as a browser client would feed xterm.js. */
export class ClientTerminal {
  readonly term: Terminal;

  constructor(cols = 80, rows = 24) {
    this.term = new headless.Terminal({ cols, rows, scrollback: 5000, allowProposedApi: true });
  }

  apply(event: ViewerEvent): void {
    if (event.type === 'screen') {
      this.term.reset();
      this.term.resize(event.cols, event.rows);
      this.term.write(event.screen);
    } else if (event.type === 'resize') {
      this.term.resize(event.cols, event.rows);
    } else {
      this.term.write(event.data);
    }
  }

  applyAll(events: ViewerEvent[]): this {
    for (const e of events) this.apply(e);
    return this;
  }

  /** Resolves when everything written so far has been parsed. */
  settled(): Promise<void> {
    return new Promise((resolve) => this.term.write('', resolve));
  }
}

interface CoreInternals {
  _core: {
    coreService: { isCursorHidden: boolean };
    _bufferService: { buffer: { scrollTop: number; scrollBottom: number } };
  };
}

/** Everything visible about a terminal, cell by cell, for toEqual. */
export function describeTerminal(term: Terminal): Record<string, unknown> {
  const buffers: Record<string, string[]> = {};
  for (const [name, buffer] of [
    ['normal', term.buffer.normal],
    ['alternate', term.buffer.alternate],
  ] as const) {
    const lines: string[] = [];
    const cell = buffer.getNullCell();
    for (let y = 0; y < buffer.length; y++) {
      const line = buffer.getLine(y);
      if (!line) continue;
      // Characters as text, then each cell's width and style as numbers: cheap enough to describe
      // thousands of lines, and any difference in any cell still shows.
      const styles: number[] = [];
      for (let x = 0; x < term.cols; x++) {
        line.getCell(x, cell);
        styles.push(
          cell.getWidth(),
          cell.getFgColorMode(),
          cell.getFgColor(),
          cell.getBgColorMode(),
          cell.getBgColor(),
          (cell.isBold() ? 1 : 0) |
            (cell.isItalic() ? 2 : 0) |
            (cell.isUnderline() ? 4 : 0) |
            (cell.isInverse() ? 8 : 0) |
            (cell.isDim() ? 16 : 0),
        );
      }
      const text = `${line.isWrapped ? '↩' : ''}${line.translateToString(false)}|${styles.join(',')}`;
      lines.push(text);
    }
    buffers[name] = lines;
  }
  const core = (term as unknown as CoreInternals)._core;
  return {
    cols: term.cols,
    rows: term.rows,
    active: term.buffer.active.type,
    cursor: [term.buffer.active.cursorX, term.buffer.active.cursorY],
    baseY: term.buffer.active.baseY,
    modes: term.modes,
    cursorHidden: core.coreService.isCursorHidden,
    scrollRegion: [core._bufferService.buffer.scrollTop, core._bufferService.buffer.scrollBottom],
    buffers,
  };
}

/** The description of a client terminal once everything written to it has been parsed. */
export async function settledDescription(client: ClientTerminal): Promise<Record<string, unknown>> {
  await client.settled();
  return describeTerminal(client.term);
}

/** Lines of the active screen as text, for readable assertions. */
export function screenText(term: Terminal): string[] {
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let y = buffer.baseY; y < buffer.baseY + term.rows; y++) {
    lines.push(buffer.getLine(y)?.translateToString(true) ?? '');
  }
  return lines;
}
