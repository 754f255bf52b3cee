/**
 * Runs an async refresh one at a time. A call made while one runs is not started beside it
 * (two runs could finish out of order, or both build a page) but queued: however many calls
 * arrive meanwhile, one more run follows, and it starts after the last of them, so what it shows
 * is never older than the newest reason to refresh.
 */
export function latestOnly(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const start = (): Promise<void> => {
    running = run().finally(() => {
      running = undefined;
    });
    return running;
  };
  return () => {
    if (!running) return start();
    const next = () => {
      queued = undefined;
      return start();
    };
    // After the running one however it ended: a failed look is no reason to skip the next.
    queued ??= running.then(next, next);
    return queued;
  };
}
