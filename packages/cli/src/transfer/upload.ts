/**
 * A local file (or stdin) to a file on the machine: fs.openWrite, then chunks in order, each
 * sent after the previous was accepted (so memory holds one chunk), then fs.commitWrite, which
 * makes the file appear whole and at once. The sha256 Klient reports is checked against the bytes
 * read here. On any failure or Ctrl-C the upload is aborted and the target left as it was.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { RpcClient } from '@kk/protocol/client/client.js';
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
): Promise<{ path: string; size: number; hash: string }> {
  const input = source.file ? createReadStream(source.file, { highWaterMark: UPLOAD_CHUNK }) : source.stdin!;
  const { uploadId } = await client.call('fs.openWrite', { path: remotePath, mode: source.mode });
  const hash = createHash('sha256');
  let sent = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += UPLOAD_CHUNK) {
        if (observer.signal?.aborted) throw cliErrors.failure('interrupted');
        const part = chunk.subarray(at, at + UPLOAD_CHUNK);
        hash.update(part);
        await client.call('fs.writeChunk', { uploadId, data: part.toString('base64'), at: sent });
        sent += part.length;
        observer.onProgress?.(sent, source.size);
      }
    }
    const written = await client.call('fs.commitWrite', { uploadId });
    const local = hash.digest('hex');
    if (written.size !== sent || written.hash !== local)
      throw cliErrors.failure(
        `${written.path} does not match what was sent (${written.size} of ${sent} bytes, sha256 ${written.hash} vs ${local}): copy it again`,
      );
    return written;
  } catch (error) {
    await client.call('fs.abortWrite', { uploadId }).catch(() => {});
    input.destroy();
    throw error;
  }
}
