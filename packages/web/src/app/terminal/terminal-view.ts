/**
 * One terminal session shown in the page with xterm.js. Attaching gives the session's current
 * screen (rebuilt by Klient) and then its live output, so a reload or a reconnect shows the same
 * screen. Keys go to the session; the view follows its container's size (writers resize the
 * session, read-only viewers take the session's size). Ctrl+Shift+C / Ctrl+Shift+V copy and paste;
 * the browser's own paste works too.
 */
import type { RpcClient } from '@kk/protocol';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';

export type ViewEnd =
  | { reason: 'exit'; exitCode: number | null }
  | { reason: 'detached' | 'shutdown' | 'lost' };

export class TerminalView {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  private attachedOn: unknown;
  private cancel: (() => void) | undefined;
  private readonly resizeObserver: ResizeObserver;
  private disposed = false;
  onEnd: (end: ViewEnd) => void = () => {};

  constructor(
    private readonly client: RpcClient,
    readonly sessionId: string,
    readonly container: HTMLElement,
    readonly readOnly: boolean,
  ) {
    this.term = new Terminal({
      cursorBlink: !readOnly,
      disableStdin: readOnly,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace',
      fontSize: 14,
      scrollback: 5000,
      theme: { background: '#111418' },
    });
    this.term.loadAddon(this.fit);
    this.term.open(container);
    this.term.attachCustomKeyEventHandler((e) => this.clipboardKeys(e));
    this.term.onData((data) => {
      if (!this.readOnly) void this.client.call('terminal.input', { sessionId, data }).catch(() => {});
    });
    this.term.onResize(({ cols, rows }) => {
      if (!this.readOnly) void this.client.call('terminal.resize', { sessionId, cols, rows }).catch(() => {});
    });
    this.resizeObserver = new ResizeObserver(() => this.refit());
    this.resizeObserver.observe(container);
  }

  /** Attaches on the current connection (again after a reconnect): the screen, then live output. */
  async attach(): Promise<void> {
    const peer = this.client.connection;
    if (!peer || peer === this.attachedOn || this.disposed) return;
    this.attachedOn = peer;
    this.refit();
    // A view not laid out (its page not shown) has xterm's default size, not one the user chose:
    // it takes the session's instead of resizing the session to 80×24.
    const fitted = !this.readOnly && this.laidOut();
    const size = fitted ? { cols: this.term.cols, rows: this.term.rows } : {};
    const attached = await this.client.call('terminal.attach', {
      sessionId: this.sessionId,
      readOnly: this.readOnly,
      ...size,
    });
    const reader = this.client.openReader(attached.streamId);
    this.cancel = () => reader.cancel('closed');
    reader.onData((chunk) => {
      const e = chunk as { type: string; screen?: string; data?: string; cols?: number; rows?: number };
      if (e.type === 'screen') {
        this.term.reset();
        if (!fitted) this.term.resize(e.cols!, e.rows!);
        this.term.write(e.screen!);
      } else if (e.type === 'output') this.term.write(e.data!);
      else if (e.type === 'resize' && this.readOnly) this.term.resize(e.cols!, e.rows!);
    });
    reader.done.then(
      (final) => {
        const f = final as { reason: string; exitCode?: number | null } | undefined;
        if (f?.reason === 'exit') this.onEnd({ reason: 'exit', exitCode: f.exitCode ?? null });
        else if (f?.reason === 'shutdown') this.onEnd({ reason: 'shutdown' });
        else if (f?.reason === 'detached') this.onEnd({ reason: 'detached' });
      },
      () => {
        // The connection dropped; the session lives on and onConnect attaches again.
        if (this.attachedOn === peer) this.attachedOn = undefined;
      },
    );
  }

  focus(): void {
    this.term.focus();
  }

  refit(): void {
    if (this.disposed || this.readOnly || !this.laidOut()) return;
    try {
      this.fit.fit();
    } catch {
      // Not laid out yet; the next resize fits.
    }
  }

  private laidOut(): boolean {
    return this.container.isConnected && this.container.offsetParent !== null;
  }

  /** Stops viewing; the session keeps running on the machine. */
  dispose(): void {
    this.disposed = true;
    this.resizeObserver.disconnect();
    this.cancel?.();
    void this.client.call('terminal.detach', { sessionId: this.sessionId }).catch(() => {});
    this.term.dispose();
  }

  private clipboardKeys(e: KeyboardEvent): boolean {
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
    if (e.code === 'KeyC') {
      const text = this.term.getSelection();
      if (text) void navigator.clipboard?.writeText(text).catch(() => {});
      return false;
    }
    // The browser pastes on Ctrl+Shift+V itself (as plain text, into xterm's textarea, which
    // xterm sends on): the key only has to be kept from reaching the shell as ^V. Pasting here as
    // well pasted everything twice.
    if (e.code === 'KeyV') return false;
    return true;
  }
}
