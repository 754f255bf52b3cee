import { closeSync, constants, openSync, write } from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as nodePty from 'node-pty';
import { newSentinel, SentinelScanner } from './sentinel.js';

/**
 * A child process on a pseudo-terminal whose exit is reported only after every byte it wrote
 * has been read (DESIGN §8).
 *
 * node-pty 1.1.0 on Linux loses the tail of a child's output: when the child's side of the tty
 * closes, the master read can end (EOF or EIO) while output is still in the kernel's buffer, and
 * node-pty destroys the socket 200 ms after the exit in any case. Here the parent holds its own
 * descriptor on the tty's child side, so the master never sees a hangup while output is in
 * flight; when the child exits, a sentinel is written through that descriptor, and the exit is
 * reported once the sentinel comes out of the master (the tty keeps order). Only then is the tty
 * closed.
 */

export interface PtySpawnOptions {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
}

export interface PtyExit {
  /** Null when the child was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
}

export interface PtyEvents {
  /** Output decoded as UTF-8; a chunk never ends inside a character. */
  onData(data: string): void;
  /** Called once, after the last `onData`. */
  onExit(exit: PtyExit): void;
}

/** The node-pty internals this module leans on, in one place: a node-pty upgrade is checked here. */
interface UnixTerminalInternals {
  _emittedClose: boolean;
  _pty: string;
  _socket: {
    destroy(): void;
    once(event: 'close', cb: () => void): void;
    on(event: 'error', cb: (err: Error) => void): void;
    destroyed: boolean;
  };
  _writeStream?: { dispose(): void };
}

function internals(term: nodePty.IPty): UnixTerminalInternals {
  const t = term as unknown as UnixTerminalInternals;
  if (typeof t._emittedClose !== 'boolean' || typeof t._pty !== 'string' || !t._socket) {
    throw new Error('node-pty internals changed: Pty needs _emittedClose, _pty and _socket (node-pty 1.1.x)');
  }
  return t;
}

const signalNames = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, num]) => [num as number, name]),
);

/** Retry interval for the sentinel while the tty's output is stopped (^S) or its buffer is full. */
const SENTINEL_RETRY_MS = 20;

export class Pty {
  readonly pid: number;
  private readonly term: nodePty.IPty;
  private readonly inner: UnixTerminalInternals;
  private readonly events: PtyEvents;
  /** Our descriptor on the tty's child side; null once closed or if it could not be opened. */
  private holdFd: number | null;
  private readonly pauses = new Set<string>();
  private scanner: SentinelScanner | null = null;
  private exitInfo: PtyExit | null = null;
  private masterClosed = false;
  private finished = false;

  private constructor(term: nodePty.IPty, events: PtyEvents) {
    this.term = term;
    this.events = events;
    this.inner = internals(term);
    this.pid = term.pid;
    // Make node-pty report the child's exit at once instead of waiting for the socket to close
    // (and destroying it after 200 ms): draining is done here.
    this.inner._emittedClose = true;
    this.holdFd = openChildSide(this.inner._pty);
    this.inner._socket.once('close', () => this.onMasterClosed());
    // node-pty rethrows a read error other than EIO unless someone else listens for it, which
    // would take all of Klient down; the socket closes after it, and that ends the session.
    this.inner._socket.on('error', () => {});
    term.onData((data) => this.onData(data));
    term.onExit(({ exitCode, signal }) => this.onChildExit(exitCode, signal));
  }

  /** Start `file` on a new tty. Throws node's spawn errors (ENOENT, EACCES) as they come. */
  static spawn(options: PtySpawnOptions, events: PtyEvents): Pty {
    const term = nodePty.spawn(options.file, options.args, {
      name: options.env.TERM ?? 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: options.cwd,
      env: options.env,
      encoding: 'utf8',
    });
    return new Pty(term, events);
  }

  get exited(): boolean {
    return this.exitInfo !== null;
  }

  write(data: string): void {
    if (this.finished) return;
    this.term.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.finished) return;
    this.term.resize(cols, rows);
  }

  /**
   * Stop reading the tty for `reason` until `resume(reason)`. While nothing is read the child
   * blocks in write(2) once the kernel's buffer is full, as with a stopped real terminal.
   */
  pause(reason: string): void {
    if (this.pauses.size === 0 && !this.finished) this.term.pause();
    this.pauses.add(reason);
  }

  resume(reason: string): void {
    if (!this.pauses.delete(reason)) return;
    if (this.pauses.size === 0 && !this.finished) this.term.resume();
  }

  get paused(): boolean {
    return this.pauses.size > 0;
  }

  /** Send a signal to the child (not its whole session). Ignored once it has exited. */
  signal(signal: NodeJS.Signals): void {
    if (this.exitInfo) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // Already gone: the exit is on its way.
    }
  }

  /**
   * Close the tty as a terminal window does: the kernel sends SIGHUP to the session. Output not
   * yet read is dropped; the exit is still reported when the child ends.
   */
  hangup(): void {
    this.closeHold();
    if (!this.inner._socket.destroyed) this.inner._socket.destroy();
  }

  private onData(data: string): void {
    if (this.finished) return;
    if (!this.scanner) {
      this.events.onData(data);
      return;
    }
    const { pass, done } = this.scanner.feed(data);
    if (pass) this.events.onData(pass);
    if (done) this.finish();
  }

  private onChildExit(exitCode: number, signal: number | undefined): void {
    const name = signal ? (signalNames.get(signal) ?? `SIG${signal}`) : null;
    this.exitInfo = name ? { exitCode: null, signal: name } : { exitCode, signal: null };
    if (this.masterClosed || this.holdFd === null) {
      this.finish();
      return;
    }
    const sentinel = newSentinel();
    this.scanner = new SentinelScanner(sentinel);
    this.writeSentinel(Buffer.from(sentinel));
  }

  private writeSentinel(bytes: Buffer): void {
    const fd = this.holdFd;
    if (fd === null || this.finished) return;
    write(fd, bytes, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') setTimeout(() => this.writeSentinel(bytes), SENTINEL_RETRY_MS);
        else this.finish(); // The tty is gone: nothing more can be read anyway.
        return;
      }
      if (written < bytes.length) this.writeSentinel(bytes.subarray(written));
    });
  }

  private onMasterClosed(): void {
    this.masterClosed = true;
    if (this.exitInfo) this.finish();
  }

  private finish(): void {
    if (this.finished || !this.exitInfo) return;
    const rest = this.scanner?.flush();
    if (rest) this.events.onData(rest);
    this.finished = true;
    this.closeHold();
    if (!this.inner._socket.destroyed) this.inner._socket.destroy();
    this.inner._writeStream?.dispose();
    this.events.onExit(this.exitInfo);
  }

  private closeHold(): void {
    if (this.holdFd === null) return;
    try {
      closeSync(this.holdFd);
    } catch {
      // Closing a tty descriptor can only fail if it is already closed.
    }
    this.holdFd = null;
  }
}

/**
 * Open the tty's child side for ourselves. O_NOCTTY: it must not become Klient's controlling
 * terminal; O_NONBLOCK: the sentinel write must never block the event loop.
 */
function openChildSide(ptsName: string): number | null {
  try {
    return openSync(ptsName, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch {
    // The child already exited and the tty is gone: its output was read to the end or is lost
    // either way, and the exit is reported when node-pty sees it.
    return null;
  }
}
