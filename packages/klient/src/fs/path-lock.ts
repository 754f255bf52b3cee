/**
 * Serialises the check-then-rename of commits to the same path within this process, so two
 * callers with the same `ifMatch` cannot both win. (Writers outside Klient are not covered:
 * POSIX has no compare-and-rename.)
 */
const tails = new Map<string, Promise<unknown>>();

export async function withPathLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(path) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => {});
  tails.set(path, tail);
  try {
    return await run;
  } finally {
    if (tails.get(path) === tail) tails.delete(path);
  }
}
