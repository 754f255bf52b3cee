import { RpcError } from '../errors.js';

export type StreamChunk = Uint8Array | unknown;

interface Pending {
  resolve(result: IteratorResult<StreamChunk>): void;
  reject(error: unknown): void;
}

/** What a reader needs from its connection. */
export interface StreamSource {
  cancel(id: number, reason: string): void;
  /** The reader's queued bytes changed; the peer pauses the socket while readers are full. */
  queued(id: number, bytes: number): void;
}

/**
 * The consuming end of a stream: an async iterator of chunks (bytes from binary frames, JSON
 * values from `stream.data`), or push-style via `onData`. `done` settles with the sender's
 * `final` value, or rejects with its error. Chunks queue while nobody consumes them; the peer
 * pauses reading from the socket once they pass the high-water mark, so the sender slows down.
 */
export class StreamReader implements AsyncIterable<StreamChunk> {
  readonly id: number;
  readonly done: Promise<unknown>;
  private queue: StreamChunk[] = [];
  private sizes: number[] = [];
  private queuedBytesCount = 0;
  private waiting: Pending | undefined;
  private listener: ((chunk: StreamChunk) => void) | undefined;
  private finished = false;
  private failure: unknown;
  private settle!: { resolve(value: unknown): void; reject(error: unknown): void };

  constructor(
    id: number,
    private readonly source: StreamSource,
  ) {
    this.id = id;
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A consumer that only iterates must not see an unhandled rejection from `done`.
    this.done.catch(() => {});
  }

  /** Bytes received and not yet consumed. */
  get queuedBytes(): number {
    return this.queuedBytesCount;
  }

  /** Switches to push mode: every queued and future chunk goes to `listener`. */
  onData(listener: (chunk: StreamChunk) => void): void {
    this.listener = listener;
    const queued = this.queue;
    this.queue = [];
    this.sizes = [];
    this.setQueued(0);
    for (const chunk of queued) listener(chunk);
  }

  /** Tells the sender to stop; the reader ends at once. */
  cancel(reason = 'cancelled by reader'): void {
    if (this.finished) return;
    this.source.cancel(this.id, reason);
    this.finishWith(new RpcError(4499, reason));
  }

  /** `bytes` is what the chunk cost on the wire, when the peer knows it (JSON chunks). */
  push(chunk: StreamChunk, bytes = sizeOf(chunk)): void {
    if (this.finished) return;
    if (this.listener) {
      this.listener(chunk);
      return;
    }
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting.resolve({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    this.sizes.push(bytes);
    this.setQueued(this.queuedBytesCount + bytes);
  }

  end(final: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.settle.resolve(final);
    if (this.waiting && this.queue.length === 0) {
      this.waiting.resolve({ value: undefined, done: true });
      this.waiting = undefined;
    }
  }

  fail(error: unknown): void {
    this.finishWith(error);
  }

  async next(): Promise<IteratorResult<StreamChunk>> {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      this.setQueued(this.queuedBytesCount - (this.sizes.shift() ?? sizeOf(chunk)));
      return { value: chunk, done: false };
    }
    if (this.failure !== undefined) throw this.failure;
    if (this.finished) return { value: undefined, done: true };
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamChunk> {
    return {
      next: () => this.next(),
      return: async () => {
        this.cancel('reader stopped iterating');
        return { value: undefined, done: true };
      },
    };
  }

  private finishWith(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.queue = [];
    this.sizes = [];
    this.setQueued(0);
    this.settle.reject(error);
    if (this.waiting) {
      this.waiting.reject(error);
      this.waiting = undefined;
    }
  }

  private setQueued(bytes: number): void {
    this.queuedBytesCount = bytes;
    this.source.queued(this.id, bytes);
  }
}

function sizeOf(chunk: StreamChunk): number {
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return typeof chunk === 'string' ? chunk.length : 64;
}
