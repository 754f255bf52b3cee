/**
 * Wakes a writer waiting for room in a Node socket the moment a send completes, instead of
 * polling `bufferedAmount` every millisecond or two (which leaves a fast socket idle between
 * polls). Only large sends carry a completion callback, so small RPC messages pay nothing; a
 * queue that is full of small sends alone (no callback outstanding) is still polled.
 */
import type { SendTracker } from '../transport.js';

/** Sends at least this large carry a completion callback. */
const TRACKED_BYTES = 16 * 1024;

export function trackSends(
  send: (data: string | Uint8Array, sent?: () => void) => void,
  buffered: () => number,
): SendTracker {
  let outstanding = 0;
  let waiters: Array<{ bytes: number; resolve: () => void }> = [];
  let poll: ReturnType<typeof setTimeout> | undefined;
  const wake = () => {
    const now = buffered();
    const ready = waiters.filter((w) => now <= w.bytes);
    if (!ready.length) return;
    waiters = waiters.filter((w) => now > w.bytes);
    for (const w of ready) w.resolve();
  };
  // Also called with an error when the socket closes: the writer then finds the peer closed.
  const sent = () => {
    outstanding--;
    wake();
  };
  const pollLater = () => {
    if (poll || outstanding > 0 || !waiters.length) return;
    poll = setTimeout(() => {
      poll = undefined;
      wake();
      pollLater();
    }, 2);
  };
  return {
    send(data) {
      const size = typeof data === 'string' ? data.length : data.byteLength;
      if (size < TRACKED_BYTES) return send(data);
      outstanding++;
      try {
        send(data, sent);
      } catch (error) {
        outstanding--; // refused outright (a socket not open yet): no callback will come
        throw error;
      }
    },
    whenBufferedBelow(bytes) {
      if (buffered() <= bytes) return Promise.resolve();
      return new Promise<void>((resolve) => {
        waiters.push({ bytes, resolve });
        pollLater();
      });
    },
  };
}
