import type { terminalSessionSchema } from '@kk/protocol/catalogue/terminal.js';
import type { z } from 'zod';
import { errors } from '../errors.js';
import { Pty, type PtyExit, type PtySpawnOptions } from './pty.js';
import { ScreenModel } from './screen.js';
import { Viewer, type ViewerEnd, type ViewerLimits, type ViewerSink } from './viewer.js';

export type SessionInfo = z.infer<typeof terminalSessionSchema>;

export interface SessionOptions {
  id: string;
  name: string;
  owner: string;
  spawn: PtySpawnOptions;
  scrollback: number;
  /** Resize requests within this window are applied once, with the last size. */
  resizeCoalesceMs: number;
  /** Output waiting for the screen model beyond this pauses the PTY. */
  modelBacklogChars: number;
  /** After a hangup, a shell still alive this long later gets SIGKILL. */
  killGraceMs: number;
  viewerLimits: ViewerLimits;
  /** The shell exited (after its last output) or the session was terminated. */
  onEnded(session: TerminalSession): void;
}

/**
 * One PTY, its screen model and its viewers. Output goes to the model and to every viewer's
 * queue in the same step, so every viewer sees the same order of output and resizes.
 *
 * Flow control: the PTY is paused while the model is behind, or while every live viewer is
 * backlogged (a lone viewer that stops reading stops the program, as a stopped terminal
 * would); a viewer that falls behind while others keep up is resynced instead (see Viewer),
 * and from then on waits for its fresh screen without holding the others back.
 */
export class TerminalSession {
  readonly id: string;
  readonly owner: string;
  readonly createdAt = Date.now();
  name: string;
  private lastActivity = Date.now();
  /** When the last viewer left (or creation); idle time for reaping counts from here at least. */
  private unwatchedSince = Date.now();
  private size: { cols: number; rows: number };
  private readonly options: SessionOptions;
  private readonly model: ScreenModel;
  private readonly pty: Pty;
  private readonly viewers = new Set<Viewer>();
  private pendingSize: { cols: number; rows: number } | null = null;
  private resizeTimer: NodeJS.Timeout | null = null;
  private exitInfo: PtyExit | null = null;
  private ended = false;

  /** Spawns the shell; throws the spawn error (ENOENT, EACCES) as it comes. */
  constructor(options: SessionOptions) {
    this.options = options;
    this.id = options.id;
    this.owner = options.owner;
    this.name = options.name;
    this.size = { cols: options.spawn.cols, rows: options.spawn.rows };
    this.model = new ScreenModel({
      cols: this.size.cols,
      rows: this.size.rows,
      scrollback: options.scrollback,
      backlogBytes: options.modelBacklogChars,
      onBacklog: (behind) => (behind ? this.pty.pause('model') : this.pty.resume('model')),
    });
    try {
      this.pty = Pty.spawn(options.spawn, {
        onData: (data) => this.onOutput(data),
        onExit: (exit) => this.onExit(exit),
      });
    } catch (err) {
      this.model.dispose();
      throw err;
    }
  }

  get pid(): number {
    return this.pty.pid;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Since when nobody watched and nothing was typed or printed; null while watched. */
  get idleSince(): number | null {
    return this.viewers.size > 0 ? null : Math.max(this.lastActivity, this.unwatchedSince);
  }

  info(): SessionInfo {
    return {
      id: this.id,
      name: this.name,
      pid: this.pty.pid,
      owner: this.owner,
      cols: this.size.cols,
      rows: this.size.rows,
      viewers: this.viewers.size,
      createdAt: this.createdAt,
      lastActivityAt: this.lastActivity,
    };
  }

  /** Add a viewer; its stream starts with the screen as of now. */
  attach(sink: ViewerSink, readOnly: boolean): Viewer {
    const viewer = new Viewer(sink, readOnly, this.options.viewerLimits, {
      snapshot: () => this.model.snapshot(),
      onBacklogChange: () => this.updateFlow(),
      onClosed: (v) => this.forget(v),
    });
    this.viewers.add(viewer);
    viewer.start();
    this.updateFlow();
    return viewer;
  }

  input(by: Viewer | undefined, data: string): void {
    this.checkWriter(by);
    this.lastActivity = Date.now();
    this.pty.write(data);
  }

  /** Ask for a new size; a burst of requests is applied once, with the last size. */
  requestResize(by: Viewer | undefined, cols: number, rows: number): void {
    this.checkWriter(by);
    if (this.exitInfo) return;
    this.pendingSize = { cols, rows };
    this.resizeTimer ??= setTimeout(() => this.applyResize(), this.options.resizeCoalesceMs);
  }

  signal(signal: NodeJS.Signals): void {
    this.pty.signal(signal);
  }

  /** End the session now: viewers get `final`, the shell is hung up (SIGKILL if it lingers). */
  terminate(final: ViewerEnd): void {
    if (this.ended) return;
    for (const viewer of [...this.viewers]) viewer.endNow(final);
    this.pty.hangup();
    if (!this.exitInfo) {
      setTimeout(() => this.exitInfo || this.pty.signal('SIGKILL'), this.options.killGraceMs).unref();
    }
    this.end();
  }

  /** Whether the PTY is not being read now (flow control). */
  get flowPaused(): boolean {
    return this.pty.paused;
  }

  private checkWriter(viewer: Viewer | undefined): void {
    if (!viewer || !this.viewers.has(viewer)) {
      throw errors.invalidState(`not attached to terminal session ${this.id}; call terminal.attach first`, {
        sessionId: this.id,
      });
    }
    if (viewer.readOnly) {
      throw errors.forbidden(
        `attached to terminal session ${this.id} read-only; attach with readOnly: false to type`,
        {
          sessionId: this.id,
        },
      );
    }
  }

  private onOutput(data: string): void {
    this.lastActivity = Date.now();
    this.model.write(data);
    for (const viewer of this.viewers) viewer.pushOutput(data);
  }

  private onExit(exit: PtyExit): void {
    this.exitInfo = exit;
    if (this.resizeTimer) clearTimeout(this.resizeTimer);
    this.resizeTimer = null;
    for (const viewer of this.viewers) viewer.endAfterQueue({ reason: 'exit', ...exit });
    this.end();
    this.disposeWhenUnwatched();
  }

  private applyResize(): void {
    this.resizeTimer = null;
    const next = this.pendingSize;
    this.pendingSize = null;
    if (!next || this.exitInfo) return;
    if (next.cols === this.size.cols && next.rows === this.size.rows) return;
    this.size = next;
    this.pty.resize(next.cols, next.rows);
    this.model.resize(next.cols, next.rows);
    for (const viewer of this.viewers) viewer.pushResize(next.cols, next.rows);
  }

  /** Pause while there is a live viewer and every live viewer is backlogged. */
  private updateFlow(): void {
    let live = 0;
    let backlogged = 0;
    for (const viewer of this.viewers) {
      if (!viewer.live) continue;
      live++;
      if (viewer.backlogged) backlogged++;
    }
    if (live > 0 && backlogged === live) this.pty.pause('viewers');
    else this.pty.resume('viewers');
  }

  private forget(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    if (this.viewers.size === 0) this.unwatchedSince = Date.now();
    this.updateFlow();
    this.disposeWhenUnwatched();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.options.onEnded(this);
  }

  /** The model outlives the shell while a viewer may still need a screen from it. */
  private disposeWhenUnwatched(): void {
    if (this.ended && this.viewers.size === 0) this.model.dispose();
  }
}
