import { RpcError } from '../errors.js';
import { encodeFrame, frameInPlace } from '../frames.js';

/** What a sender needs from its connection. */
export interface StreamSink {
  sendText(text: string): void;
  sendBinary(frame: Uint8Array): void;
  /** Resolves once the socket's queue is below the high-water mark (or the connection closed). */
  waitWritable(): Promise<void>;
  isAboveHighWater(): boolean;
  forget(id: number): void;
}

/**
 * The producing end of a stream. Writes stay queued ("corked") until the response that
 * announced the stream id has been sent, so a receiver always learns the id before data.
 * Producers honour backpressure by awaiting `ready()` between chunks: it waits while the
 * socket holds more than the high-water mark, so a reader that stops reading stops the producer.
 */
export class StreamSender {
  readonly id: number;
  private seq = 0;
  private corkedQueue: Array<() => void> | undefined = [];
  private ended = false;
  private cancelReason: string | undefined;
  private readonly cancelListeners: Array<(reason: string) => void> = [];
  private readonly uncorkWaiters: Array<() => void> = [];

  constructor(
    id: number,
    private readonly sink: StreamSink,
  ) {
    this.id = id;
  }

  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  get finished(): boolean {
    return this.ended || this.cancelled;
  }

  /** Sends bytes as a binary frame, anything else as a `stream.data` notification. False once above high water. */
  write(data: Uint8Array | unknown): boolean {
    if (data instanceof Uint8Array)
      return this.send((seq) => this.sink.sendBinary(encodeFrame(this.id, seq, data)));
    return this.send((seq) =>
      this.sink.sendText(
        JSON.stringify({ jsonrpc: '2.0', method: 'stream.data', params: { id: this.id, seq, data } }),
      ),
    );
  }

  /**
   * Sends `frame` as a binary frame without copying it: its first FRAME_HEADER_BYTES bytes are
   * the producer's room for the header, the rest the payload. The producer must not touch the
   * frame afterwards (the socket may still hold it). False once above high water.
   */
  writeFrame(frame: Uint8Array): boolean {
    return this.send((seq) => this.sink.sendBinary(frameInPlace(this.id, seq, frame)));
  }

  private send(transmit: (seq: number) => void): boolean {
    if (this.finished) return false;
    const seq = this.seq++;
    const send = () => transmit(seq);
    if (this.corkedQueue) {
      this.corkedQueue.push(send);
      return false;
    }
    send();
    return !this.sink.isAboveHighWater();
  }

  /** Resolves when the producer may write again: the stream is announced and the socket has room. */
  async ready(): Promise<void> {
    if (this.corkedQueue && !this.finished) {
      await new Promise<void>((resolve) => this.uncorkWaiters.push(resolve));
    }
    while (!this.finished && this.sink.isAboveHighWater()) {
      await this.sink.waitWritable();
    }
  }

  /** Ends the stream normally; `final` reaches the reader as the stream's result. */
  end(final?: unknown): void {
    this.finish({ id: this.id, ...(final === undefined ? {} : { final }) });
  }

  /** Ends the stream with an error the reader receives. */
  fail(error: RpcError | Error): void {
    const wire = error instanceof RpcError ? error.toJSON() : { code: -32603, message: 'stream failed' };
    this.finish({ id: this.id, error: wire });
  }

  onCancel(listener: (reason: string) => void): void {
    if (this.cancelReason !== undefined) listener(this.cancelReason);
    else this.cancelListeners.push(listener);
  }

  /** Called by the peer when the announcing response went out. */
  uncork(): void {
    const queue = this.corkedQueue;
    this.corkedQueue = undefined;
    if (queue) for (const send of queue) send();
    for (const resolve of this.uncorkWaiters.splice(0)) resolve();
  }

  /** Called by the peer: the reader cancelled, or the connection closed. */
  cancel(reason: string): void {
    if (this.finished) return;
    this.cancelReason = reason;
    this.corkedQueue = undefined;
    this.sink.forget(this.id);
    for (const resolve of this.uncorkWaiters.splice(0)) resolve();
    for (const listener of this.cancelListeners.splice(0)) listener(reason);
  }

  private finish(params: Record<string, unknown>): void {
    if (this.finished) return;
    const send = () => this.sink.sendText(JSON.stringify({ jsonrpc: '2.0', method: 'stream.end', params }));
    this.ended = true;
    this.sink.forget(this.id);
    if (this.corkedQueue) this.corkedQueue.push(send);
    else send();
  }
}
