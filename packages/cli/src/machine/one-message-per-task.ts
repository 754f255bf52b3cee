/**
 * A socket factory that hands the client one received message per macrotask.
 *
 * Why: `ws` delivers every message of one TCP read synchronously. When a result announcing a
 * stream (exec.start) and that stream's `stream.end` arrive in the same read, the end is
 * processed before the caller's `await` resumes and calls `openReader` — and @kk/protocol's
 * peer keeps early stream *data* for a reader that comes later, but drops an early *end* of a
 * stream that had no data, so the reader would wait forever. Browsers already deliver one
 * message per task. Delivering the same way here lets the caller claim its streams first.
 * Order is kept, and the close event waits behind the messages before it.
 */
import type { SocketFactory, SocketLike } from '@kk/protocol/client/socket.js';
import { nodeSocketFactory } from '@kk/protocol/node.js';

export const oneMessagePerTask: SocketFactory = (url, token, maxFrameBytes) => {
  const opened = nodeSocketFactory(url, token, maxFrameBytes);
  const inner = opened.socket;
  const queue: Array<() => void> = [];
  let scheduled = false;
  const run = () => {
    const next = queue.shift();
    next?.();
    if (queue.length > 0) setImmediate(run);
    else scheduled = false;
  };
  const enqueue = (task: () => void) => {
    queue.push(task);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  };
  const proxy: SocketLike = {
    get binaryType() {
      return inner.binaryType;
    },
    set binaryType(value: string) {
      inner.binaryType = value;
    },
    get bufferedAmount() {
      return inner.bufferedAmount;
    },
    get readyState() {
      return inner.readyState;
    },
    send: (data) => inner.send(data),
    close: (code, reason) => inner.close(code, reason),
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  inner.onopen = (event) => proxy.onopen?.(event);
  inner.onerror = (event) => proxy.onerror?.(event);
  inner.onmessage = (event) => enqueue(() => proxy.onmessage?.(event));
  inner.onclose = (event) => enqueue(() => proxy.onclose?.(event));
  return { ...opened, socket: proxy };
};
