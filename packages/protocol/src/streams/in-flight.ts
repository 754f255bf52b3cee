/**
 * A bounded window of work applied in order, for a stream consumer that should receive the next
 * chunk while earlier ones are still being written: `add` waits for the oldest once more than
 * `limit` are unfinished, so memory stays bounded and the stream's backpressure still holds.
 * A failure surfaces where its task is awaited (in `add` or `drain`); one that fails while an
 * earlier task is awaited is not reported as unhandled.
 */
/**
 * Chunk writes a file stream's consumer keeps in flight (kd's download, Klient's fs.writeStream):
 * enough for the thread pool to write while the next chunk is received and hashed; more only
 * holds more memory.
 */
export const CHUNK_WRITES_IN_FLIGHT = 4;

export class InFlight {
  private readonly pending: Array<Promise<void>> = [];

  constructor(private readonly limit: number) {}

  async add(task: Promise<void>): Promise<void> {
    task.catch(() => {}); // awaited in order below or in drain()
    this.pending.push(task);
    if (this.pending.length > this.limit) await this.pending.shift();
  }

  /** Waits for every task, in order; rejects with the first failure. */
  async drain(): Promise<void> {
    for (const task of this.pending.splice(0)) await task;
  }

  /** Waits for every task to end, failed or not (the cleanup path). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.pending.splice(0));
  }
}
