/**
 * Waiting for a fact another process may change: look, and if it does not hold yet, sleep
 * until poked (a notification said something changed) or a bounded poll interval passes — the
 * fallback for a notification lost while a LISTEN connection was down. A poke that arrives
 * while the caller is looking is kept, so the next sleep returns at once and nothing is missed.
 * `unlessAborted` stops waiting for work that does not watch the job's signal.
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

/**
 * Waits for `work` unless the job is aborted first (deadline, shutdown): a provider call or a
 * provisioner that does not watch the signal must not hold the job past its abort. What it was
 * doing is cleaned up by the failure path (the build's rollback destroys the instance).
 */
export function unlessAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
