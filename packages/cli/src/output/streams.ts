import type { Writable } from 'node:stream';

/** Writes and waits for 'drain' when the destination's buffer is full (so memory stays bounded). */
export async function writeWithBackpressure(out: Writable, chunk: Uint8Array | string): Promise<void> {
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      out.off('drain', onDrain);
      out.off('error', done);
      out.off('close', onDrain);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    out.once('drain', onDrain);
    out.once('close', onDrain);
    out.once('error', done);
  });
}
