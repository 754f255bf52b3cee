/**
 * A file on the machine to a local file (or stdout), streamed: Klient sends binary frames, each
 * written out before more is read (the reader's backpressure pauses the socket), so a large file
 * is never whole in memory. A local file is written under a temporary name beside the target and
 * renamed over it only after every byte arrived and the sha256 matched; a failure leaves the
 * target as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { writeAllAt } from '@kk/protocol/node/file-chunks.js';
import { CHUNK_WRITES_IN_FLIGHT, InFlight } from '@kk/protocol/streams/in-flight.js';
import { cliErrors } from '../errors.js';
import { writeWithBackpressure } from '../output/streams.js';
import type { TransferObserver } from './upload.js';

export interface DownloadTarget {
  /** A local path, or undefined with `stdout`. */
  file?: string;
  stdout?: Writable;
  /** Permission bits for the local file. */
  mode?: number;
}

export async function download(
  client: RpcClient,
  remotePath: string,
  target: DownloadTarget,
  observer: TransferObserver = {},
): Promise<{ size: number; hash: string }> {
  const opened = await client.call('fs.readFile', { path: remotePath, stream: true });
  if (opened.streamId === undefined) throw cliErrors.failure(`Klient sent ${remotePath} without a stream`);
  const reader = client.openReader(opened.streamId);
  const onAbort = () => reader.cancel('interrupted');
  observer.signal?.addEventListener('abort', onAbort, { once: true });

  const temp = target.file
    ? join(dirname(target.file), `.${basename(target.file)}.kd-${randomBytes(4).toString('hex')}.tmp`)
    : undefined;
  // A local file is written at explicit offsets by the thread pool, a few chunks in flight while
  // the next are received and hashed here; past that, the loop waits for the oldest write, so
  // the reader's backpressure still paces Klient.
  const file = temp
    ? await open(temp, 'wx', target.mode ?? 0o644).catch((error: unknown) => {
        reader.cancel('the local file could not be created');
        observer.signal?.removeEventListener('abort', onAbort);
        throw error;
      })
    : undefined;
  const out = target.stdout;
  const hash = createHash('sha256');
  let received = 0;
  const writes = new InFlight(CHUNK_WRITES_IN_FLIGHT);
  try {
    for await (const chunk of reader) {
      if (!(chunk instanceof Uint8Array)) continue;
      hash.update(chunk);
      received += chunk.byteLength;
      if (file) await writes.add(writeAllAt(file, chunk, received - chunk.byteLength));
      else await writeWithBackpressure(out!, chunk);
      observer.onProgress?.(received, opened.size);
    }
    const final = (await reader.done) as { bytes?: number; hash?: string } | undefined;
    const local = hash.digest('hex');
    if ((final?.bytes !== undefined && final.bytes !== received) || (final?.hash && final.hash !== local))
      throw cliErrors.failure(
        `${remotePath} changed or was cut short while copying (${received} bytes, sha256 ${local}): copy it again`,
      );
    if (file) {
      await writes.drain();
      await file.close();
      await rename(temp!, target.file!);
    }
    return { size: received, hash: local };
  } catch (error) {
    if (file) {
      await writes.settle();
      await file.close().catch(() => {});
      await rm(temp!, { force: true });
    }
    throw error;
  } finally {
    observer.signal?.removeEventListener('abort', onAbort);
  }
}
