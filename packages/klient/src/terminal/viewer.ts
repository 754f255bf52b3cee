import type { terminalStreamEndSchema, terminalStreamEventSchema } from '@kk/protocol/catalogue/terminal.js';
import type { z } from 'zod';
import type { ScreenSnapshot } from './screen.js';

export type ViewerEvent = z.infer<typeof terminalStreamEventSchema>;
export type ViewerEnd = z.infer<typeof terminalStreamEndSchema>;

/** Where a viewer's events go: a protocol stream in Klient, anything with backpressure in tests. */
export interface ViewerSink {
  send(event: ViewerEvent): void;
  /** Resolves when the transport can take more (its buffer is below the high-water mark). */
  ready(): Promise<void>;
  end(final: ViewerEnd): void;
}

export interface ViewerLimits {
  /** Largest `output` event; queued chunks are joined up to this. */
  batchChars: number;
  /** A queue this long counts as backlogged; when every live viewer is, the PTY is paused. */
  pauseChars: number;
  /** A queue longer than this is dropped and the viewer gets a fresh screen when it catches up. */
  dropChars: number;
}

interface ViewerHooks {
  /** Must place its barrier synchronously (ScreenModel.snapshot does). */
  snapshot(): Promise<ScreenSnapshot>;
  /** The viewer crossed `pauseChars` either way, or became live or stopped being live. */
  onBacklogChange(): void;
  /** The viewer is finished (ended or closed); the session forgets it. */
  onClosed(viewer: Viewer): void;
}

type Queued = string | { cols: number; rows: number };

/**
 * One attached client. Output is queued per viewer and pumped out as fast as its transport
 * takes it; the first event is a screen snapshot taken at the instant the viewer started
 * collecting, so the stream continues exactly where the screen stops.
 *
 * A viewer that stops reading first holds the PTY back (see TerminalSession); if other viewers
 * keep it running, the stalled viewer's queue is capped: past `dropChars` it is thrown away
 * and the viewer is sent a fresh screen once its transport drains ("resync"), so one stalled
 * browser tab costs at most `dropChars` of memory and never stalls the others.
 */
export class Viewer {
  readonly readOnly: boolean;
  private readonly sink: ViewerSink;
  private readonly limits: ViewerLimits;
  private readonly hooks: ViewerHooks;
  private queue: Queued[] = [];
  private queuedChars = 0;
  private needsScreen = true;
  private firstScreen = true;
  private ending: ViewerEnd | null = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private resyncs = 0;
  private resolveFinished!: () => void;
  /** Settles when the viewer is finished, however it ended. */
  readonly finished = new Promise<void>((resolve) => {
    this.resolveFinished = resolve;
  });

  constructor(sink: ViewerSink, readOnly: boolean, limits: ViewerLimits, hooks: ViewerHooks) {
    this.sink = sink;
    this.readOnly = readOnly;
    this.limits = limits;
    this.hooks = hooks;
  }

  /** Take the first screen now and start pumping. Call once, when the viewer joins the session. */
  start(): void {
    void this.pump();
  }

  get backlogged(): boolean {
    return this.queuedChars >= this.limits.pauseChars;
  }

  /**
   * Whether it takes output now. A viewer whose backlog was dropped waits for a fresh screen and
   * needs nothing until then, so it must not hold the PTY back either.
   */
  get live(): boolean {
    return !this.closed && !this.needsScreen;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** How often this viewer's backlog was dropped for a fresh screen. */
  get resyncCount(): number {
    return this.resyncs;
  }

  pushOutput(data: string): void {
    this.enqueue(data, data.length);
  }

  pushResize(cols: number, rows: number): void {
    this.enqueue({ cols, rows }, 0);
  }

  /** End the stream with `final` after everything queued has been sent. */
  endAfterQueue(final: ViewerEnd): void {
    if (this.closed || this.ending) return;
    this.ending = final;
    this.wakePump();
  }

  /** End the stream with `final` now, dropping what is queued. */
  endNow(final: ViewerEnd): void {
    if (this.closed) return;
    this.close();
    this.sink.end(final);
  }

  /** Stop without ending the stream (its transport is gone). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const wasBacklogged = this.backlogged;
    this.queue = [];
    this.queuedChars = 0;
    this.wakePump();
    this.hooks.onClosed(this);
    if (wasBacklogged) this.hooks.onBacklogChange();
    this.resolveFinished();
  }

  private enqueue(item: Queued, chars: number): void {
    if (this.closed || this.ending || this.needsScreen) return;
    const wasBacklogged = this.backlogged;
    this.queue.push(item);
    this.queuedChars += chars;
    if (this.queuedChars > this.limits.dropChars) {
      this.needsScreen = true;
      this.resyncs++;
      this.queue = [];
      this.queuedChars = 0;
    }
    if (wasBacklogged !== this.backlogged) this.hooks.onBacklogChange();
    this.wakePump();
  }

  private wakePump(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async pump(): Promise<void> {
    try {
      while (!this.closed) {
        if (this.needsScreen) {
          await this.sendScreen();
          continue;
        }
        if (this.queue.length === 0) {
          if (this.ending) {
            const final = this.ending;
            this.close();
            this.sink.end(final);
            return;
          }
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          continue;
        }
        await this.sink.ready();
        if (this.closed || this.needsScreen) continue;
        this.sendBatch();
      }
    } catch {
      // The transport failed or the model went away: nothing more can reach this viewer.
      this.close();
    }
  }

  private async sendScreen(): Promise<void> {
    // The first screen is taken synchronously in start(); later ones wait until the transport
    // drained, since a screen sent into a full buffer would be stale by the time it arrives.
    if (!this.firstScreen) await this.sink.ready();
    if (this.closed) return;
    // From here on output is collected again; the snapshot covers everything before.
    this.needsScreen = false;
    const snap = this.hooks.snapshot();
    if (!this.firstScreen) this.hooks.onBacklogChange();
    this.firstScreen = false;
    const screen = await snap;
    if (this.closed || this.needsScreen) return; // dropped again while the parser caught up
    this.sink.send({ type: 'screen', screen: screen.screen, cols: screen.cols, rows: screen.rows });
  }

  private sendBatch(): void {
    const wasBacklogged = this.backlogged;
    const first = this.queue[0]!;
    if (typeof first !== 'string') {
      this.queue.shift();
      this.sink.send({ type: 'resize', cols: first.cols, rows: first.rows });
      return;
    }
    let data = '';
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (typeof next !== 'string') break;
      if (data.length > 0 && data.length + next.length > this.limits.batchChars) break;
      data += next;
      this.queue.shift();
    }
    this.queuedChars -= data.length;
    this.sink.send({ type: 'output', data });
    if (wasBacklogged && !this.backlogged) this.hooks.onBacklogChange();
  }
}
