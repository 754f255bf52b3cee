import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { type FileChunk, readFileChunks } from '@kk/protocol/node/file-chunks.js';
import { errors } from '../errors.js';

export interface ReadRange {
  offset: number;
  /** Bytes wanted; undefined means to the end of the file. */
  length?: number;
}

export interface OpenedFile {
  handle: FileHandle;
  size: number;
  mtime: number;
}

const CHUNK = 1024 * 1024;

/** Open a file for reading, refusing directories with a clear message (read(2) would say EISDIR late). */
export async function openForRead(path: string): Promise<OpenedFile> {
  const handle = await open(path, 'r');
  try {
    const stats = await handle.stat();
    if (stats.isDirectory())
      throw errors.invalidParams(`${path}: is a directory, expected a file; use fs.readDirectory`);
    return { handle, size: stats.size, mtime: Math.floor(stats.mtimeMs) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Yield the bytes of a range in chunks (framed in place, see readFileChunks), reading until the
 * range or the file ends. Files whose stat size is 0 but which have content (/proc, pipes) are
 * read to EOF. `whole` is true when the range started at 0 and reached EOF, so `hash` is the
 * hash of the whole file.
 */
export async function* readRange(
  file: OpenedFile,
  range: ReadRange,
  summary: { bytes: number; whole: boolean; hash?: string },
): AsyncGenerator<FileChunk> {
  const hash = range.offset === 0 ? createHash('sha256') : undefined;
  for await (const chunk of readFileChunks(file.handle, range, CHUNK)) {
    hash?.update(chunk.payload);
    summary.bytes += chunk.payload.length;
    yield chunk;
  }
  // Short of the length asked for means the file ended; exactly at it, one probe tells.
  let eof = range.length === undefined || summary.bytes < range.length;
  if (!eof) {
    const { bytesRead } = await file.handle.read(Buffer.alloc(1), 0, 1, range.offset + summary.bytes);
    eof = bytesRead === 0;
  }
  summary.whole = eof && range.offset === 0;
  if (summary.whole && hash) summary.hash = hash.digest('hex');
}

/**
 * Read a range into memory for an inline answer, refusing (TooLarge) past `max` bytes before
 * reading them, and saying how to get them instead.
 */
export async function readInline(
  file: OpenedFile,
  range: ReadRange,
  max: number,
): Promise<{ bytes: Buffer; hash?: string }> {
  const wanted = range.length ?? Math.max(0, file.size - range.offset);
  const tooLarge = () =>
    errors.tooLarge(
      `the read is larger than ${max} bytes; pass stream: true, or offset and length to read it in parts`,
      {
        limit: max,
      },
    );
  if (wanted > max) throw tooLarge();
  const summary = { bytes: 0, whole: false, hash: undefined as string | undefined };
  const chunks: Buffer[] = [];
  // Read one byte past the limit so a file that grew, or reports size 0, is still caught.
  const capped = { offset: range.offset, length: Math.min(range.length ?? max + 1, max + 1) };
  for await (const chunk of readRange(file, capped, summary)) chunks.push(chunk.payload);
  if (summary.bytes > max) throw tooLarge();
  return { bytes: Buffer.concat(chunks), hash: summary.hash };
}
