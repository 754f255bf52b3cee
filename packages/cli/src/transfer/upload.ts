/**
 * A local file (or stdin) to a file on the machine: fs.openWrite, then the bytes as binary stream
 * frames (fs.writeStream) paced by the socket (so memory holds about one chunk), then fs.commitWrite, which
 * makes the file appear whole and at once. The CRC-32 Klient reports is checked against the bytes
 * read here: the check is of the transfer, which needs no cryptographic hash, and a sha256 at each
 * end took a third of an upload's CPU (a Klient from before CRC-32 is checked by sha256, as then).
 * On any failure or Ctrl-C the upload is aborted and the target left as it was.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode, RpcError } from '@kk/protocol/errors.js';
import { type Checksum, runningChecksum } from '@kk/protocol/node/checksum.js';
import { type FileChunk, readFileChunks } from '@kk/protocol/node/file-chunks.js';
import { cliErrors } from '../errors.js';

export const UPLOAD_CHUNK = 1024 * 1024;

export interface UploadSource {
  /** A local file path, or undefined for stdin. */
  file?: string;
  stdin?: Readable;
  /** For progress; undefined when not known ahead (stdin). */
  size?: number;
  /** Permission bits for a new file. */
  mode?: number;
}

export interface TransferObserver {
  onProgress?(done: number, total: number | undefined): void;
  signal?: AbortSignal;
}

export async function upload(
  client: RpcClient,
  source: UploadSource,
  remotePath: string,
  observer: TransferObserver = {},
): Promise<{ path: string; size: number }> {
  // A file is read straight into frames (no copy per chunk); stdin comes as the stream gives it.
  const file = source.file ? await open(source.file, 'r') : undefined;
  try {
    const input: AsyncIterable<FileChunk | Buffer> = file
      ? readFileChunks(file, { offset: 0 }, UPLOAD_CHUNK)
      : (source.stdin! as AsyncIterable<Buffer>);
    const { uploadId, checksum } = await openUpload(client, remotePath, source.mode);
    const running = runningChecksum(checksum);
    let sent = 0;
    const parts = async function* () {
      for await (const chunk of input) {
        if (observer.signal?.aborted) throw cliErrors.failure('interrupted');
        const bytes = 'payload' in chunk ? chunk.payload : chunk;
        running.update(bytes);
        yield chunk;
        sent += bytes.length;
        observer.onProgress?.(sent, source.size);
      }
    };
    try {
      await streamUpload(client, uploadId, parts());
      const written = await client.call('fs.commitWrite', { uploadId });
      const local = running.digest();
      const reported = checksum === 'crc32' ? written.crc32 : written.hash;
      if (written.size !== sent || reported !== local)
        throw cliErrors.failure(
          `${written.path} does not match what was sent (${written.size} of ${sent} bytes, ${checksum} ${reported} vs ${local}): copy it again`,
        );
      return { path: written.path, size: written.size };
    } catch (error) {
      await client.call('fs.abortWrite', { uploadId }).catch(() => {});
      throw error;
    }
  } catch (error) {
    source.stdin?.destroy();
    throw error;
  } finally {
    await file?.close();
  }
}

/**
 * Opens the upload asking for a CRC-32. A Klient from before that option refuses the unknown
 * key (machines keep the Klient they were built with), and is then asked again without it.
 */
async function openUpload(
  client: RpcClient,
  path: string,
  mode: number | undefined,
): Promise<{ uploadId: string; checksum: Checksum }> {
  try {
    const { uploadId } = await client.call('fs.openWrite', { path, mode, checksum: 'crc32' });
    return { uploadId, checksum: 'crc32' };
  } catch (error) {
    if (!refusesKey(error, 'checksum')) throw error;
    const { uploadId } = await client.call('fs.openWrite', { path, mode });
    return { uploadId, checksum: 'sha256' };
  }
}

/** Whether `error` is a refusal of the params because they carry `key`, which the peer does not know. */
function refusesKey(error: unknown, key: string): boolean {
  if (!(error instanceof RpcError) || error.code !== ErrorCode.InvalidParams) return false;
  const issues = (error.data as { issues?: Array<{ code?: string; message?: string }> } | undefined)?.issues;
  return (issues ?? []).some((i) => i.code === 'unrecognized_keys' && i.message?.includes(`"${key}"`));
}

/**
 * Feed an open upload from `parts` as binary stream frames (fs.writeStream), each written once
 * the socket has room, so memory holds about one part whatever the size. Resolves with the bytes
 * Klient wrote; rejects with Klient's error (the upload is then dropped on its side) or with the
 * error `parts` threw (the stream is failed, so Klient drops the upload too).
 */
export async function streamUpload(
  client: RpcClient,
  uploadId: string,
  parts: AsyncIterable<Uint8Array | FileChunk>,
): Promise<number> {
  const peer = await client.waitOpen();
  const stream = peer.openStream();
  // No call announces a client's stream back to it: it may send at once; Klient keeps early bytes.
  stream.uncork();
  // No timeout: the answer comes when the last byte is on disk, however long the file takes.
  const answer = peer.call('fs.writeStream', { uploadId, streamId: stream.id }, { timeoutMs: 2 ** 31 - 1 });
  answer.catch(() => {});
  try {
    for await (const part of parts) {
      await stream.ready();
      if (stream.finished) break; // Klient cancelled: its answer says why
      if ('frame' in part) stream.writeFrame(part.frame);
      else stream.write(part);
    }
    stream.end();
  } catch (error) {
    stream.fail(error instanceof Error ? error : new Error(String(error)));
    await answer.catch(() => {});
    throw error;
  }
  const { written } = await answer;
  return written;
}
