import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('InFlight', () => {
  it('waits for the oldest task once more than the limit are unfinished', async () => {
    const window = new InFlight(2);
    const [a, b, c] = [deferred(), deferred(), deferred()];
    await window.add(a.promise);
    await window.add(b.promise);
    let third = false;
    const adding = window.add(c.promise).then(() => {
      third = true;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    a.resolve();
    await adding;
    expect(third).toBe(true);
    b.resolve();
    c.resolve();
    await window.drain();
  });

  it('reports a later task failing while an earlier one is awaited at drain, not as unhandled', async () => {
    const window = new InFlight(4);
    const [a, b] = [deferred(), deferred()];
    await window.add(a.promise);
    await window.add(b.promise);
    b.reject(new Error('disk full'));
    await new Promise((resolve) => setImmediate(resolve));
    a.resolve();
    await expect(window.drain()).rejects.toThrow('disk full');
    await window.settle();
  });
});
