/**
 * Waiting for a fact another process may change: look, and if it does not hold yet, sleep
 * until poked (a notification said something changed) or a bounded poll interval passes — the
 * fallback for a notification lost while a LISTEN connection was down. A poke that arrives
 * while the caller is looking is kept, so the next sleep returns at once and nothing is missed.
 */
export class Wakeup {
  private poked = false;
  private wake: (() => void) | undefined;

  /** Something changed: the current or next sleep returns now. */
  poke = (): void => {
    this.poked = true;
    this.wake?.();
  };

  /** Sleeps up to `ms`, less when poked (or already poked since the last sleep) or aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.poked || signal?.aborted) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        this.poked = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
