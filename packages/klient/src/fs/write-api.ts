import { randomUUID } from 'node:crypto';
import type { Handler, HandlerMap } from '@kk/protocol/peer.js';
import { CHUNK_WRITES_IN_FLIGHT, InFlight } from '@kk/protocol/streams/in-flight.js';
import { markActivity } from '../activity.js';
import { resourcesOf } from '../connection-resources.js';
import type { KlientContext } from '../context.js';
import { errors } from '../errors.js';
import { AtomicWrite, writeFileAtomically } from './atomic-write.js';
import { decodeContent } from './content.js';
import { resolvePath } from './paths.js';

/** fs.writeFile: the whole content in one call, written atomically. */
export function writeFileHandler({ config, pendingWrites }: KlientContext): Handler<'fs.writeFile'> {
  return async ({ path, content, encoding, ...options }) => {
    const bytes = decodeContent(content, encoding);
    markActivity();
    return writeFileAtomically(resolvePath(config.home, path), bytes, options, pendingWrites);
  };
}

/**
 * Chunked uploads (fs.openWrite → fs.writeChunk… or fs.writeStream → fs.commitWrite), so a file of any size
 * streams to disk without sitting whole in memory. An upload belongs to the connection that
 * opened it; if that connection closes first, the temp file is removed and the target is untouched.
 */
export function uploadHandlers({ config, pendingWrites }: KlientContext): HandlerMap {
  const upload = (peer: Parameters<typeof resourcesOf>[0], id: string) => {
    const found = resourcesOf(peer).uploads.get(id);
    if (!found)
      throw errors.notFound(`no upload ${id} on this connection (committed, aborted, or opened elsewhere)`);
    return found;
  };
  return {
    'fs.openWrite': async ({ path, ...options }, call) => {
      const resources = resourcesOf(call.peer);
      if (resources.uploads.size >= config.maxUploadsPerConnection) {
        throw errors.rateLimited(
          `at most ${config.maxUploadsPerConnection} uploads in progress per connection`,
          {
            limit: config.maxUploadsPerConnection,
          },
        );
      }
      markActivity();
      const write = await AtomicWrite.begin(resolvePath(config.home, path), options, pendingWrites);
      const uploadId = randomUUID();
      if (call.peer.closed) await write.abort();
      else resources.uploads.set(uploadId, write);
      return { uploadId };
    },
    'fs.writeChunk': async (p, call) => {
      const write = upload(call.peer, p.uploadId);
      const bytes = decodeContent(p.data, p.encoding, 'data');
      markActivity();
      await write.write(bytes, p.at);
      return { received: write.received };
    },
    'fs.writeStream': async (p, call) => {
      // Claimed first, so a refused call still cancels the stream instead of leaving its bytes queued.
      const reader = call.peer.openReader(p.streamId);
      let write: AtomicWrite | undefined;
      try {
        const found = upload(call.peer, p.uploadId);
        const start = found.received;
        if (p.at !== undefined && p.at !== start) {
          throw errors.invalidState(
            `stream is for byte ${p.at} but ${start} bytes were received; resend from there`,
            { received: start },
          );
        }
        write = found;
        // A few chunks in flight: the next is received and hashed while the thread pool writes
        // this one (AtomicWrite applies them in order); past that, the loop waits for the oldest.
        const writing = new InFlight(CHUNK_WRITES_IN_FLIGHT);
        try {
          for await (const chunk of reader) {
            if (!(chunk instanceof Uint8Array))
              throw errors.invalidParams('fs.writeStream carries binary frames only');
            markActivity();
            await writing.add(found.write(chunk));
          }
          await writing.drain();
        } finally {
          await writing.settle();
        }
        return { written: found.received - start, received: found.received };
      } catch (err) {
        reader.cancel('the upload failed');
        if (write) {
          // A broken stream leaves a partial upload nobody can resume safely: drop it whole.
          resourcesOf(call.peer).uploads.delete(p.uploadId);
          await write.abort();
        }
        throw err;
      }
    },
    'fs.commitWrite': async (p, call) => {
      const write = upload(call.peer, p.uploadId);
      resourcesOf(call.peer).uploads.delete(p.uploadId);
      markActivity();
      const { checksum, ...committed } = await write.commit();
      return write.checksum === 'crc32'
        ? { ...committed, crc32: checksum }
        : { ...committed, hash: checksum };
    },
    'fs.abortWrite': async (p, call) => {
      const resources = resourcesOf(call.peer);
      const write = resources.uploads.get(p.uploadId);
      if (!write) return { aborted: false };
      resources.uploads.delete(p.uploadId);
      await write.abort();
      return { aborted: true };
    },
  };
}
