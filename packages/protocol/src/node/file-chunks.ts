/**
 * Files to and from binary streams. Reading without copying into frames: each chunk is read into a
 * buffer that leaves FRAME_HEADER_BYTES free before it, so `StreamSender.writeFrame(chunk.frame)`
 * sends it as it lies, and the next chunk is read while the consumer hashes or sends this one.
 */
import type { FileHandle } from 'node:fs/promises';
import { FRAME_HEADER_BYTES } from '../frames.js';

export interface FileChunk {
  /** The bytes read. */
  payload: Buffer;
  /** The same bytes with the header's room before them: what `writeFrame` takes. */
  frame: Uint8Array;
}

/**
 * Yields the bytes of `handle` from `offset`, `length` of them or up to the end of the file (a
 * read of zero bytes, so files whose size stat reports as 0, like /proc's, are read whole).
 * A consumer that stops early may: the read in flight lands before the generator returns.
 */
export async function* readFileChunks(
  handle: FileHandle,
  range: { offset: number; length?: number },
  chunkBytes: number,
): AsyncGenerator<FileChunk> {
  let position = range.offset;
  let left = range.length ?? Number.POSITIVE_INFINITY;
  const readAt = async (at: number, wanted: number): Promise<FileChunk> => {
    const buffer = Buffer.allocUnsafe(FRAME_HEADER_BYTES + wanted);
    const { bytesRead } = await handle.read(buffer, FRAME_HEADER_BYTES, wanted, at);
    return {
      payload: buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + bytesRead),
      frame: buffer.subarray(0, FRAME_HEADER_BYTES + bytesRead),
    };
  };
  let next = left > 0 ? readAt(position, Math.min(chunkBytes, left)) : undefined;
  try {
    while (next) {
      const chunk = await next;
      next = undefined;
      if (chunk.payload.length === 0) return;
      position += chunk.payload.length;
      left -= chunk.payload.length;
      if (left > 0) next = readAt(position, Math.min(chunkBytes, left));
      yield chunk;
    }
  } finally {
    await next?.catch(() => undefined);
  }
}

/** Writes all of `bytes` at `position` (a write may take fewer bytes than asked; the rest follows). */
export async function writeAllAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}
