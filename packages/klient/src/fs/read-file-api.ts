import type { Handler } from '@kk/protocol/peer.js';
import type { StreamSender } from '@kk/protocol/streams/sender.js';
import type { KlientContext } from '../context.js';
import { errors, fromSystemError } from '../errors.js';
import type { Logger } from '../log.js';
import { encodeContent } from './content.js';
import { resolvePath } from './paths.js';
import { type OpenedFile, openForRead, type ReadRange, readInline, readRange } from './read-file.js';

/** fs.readFile: inline up to the configured limit, else a binary stream paced by the socket. */
export function readFileHandler({ config, log }: KlientContext): Handler<'fs.readFile'> {
  return async (p, call) => {
    const path = resolvePath(config.home, p.path);
    const file = await openForRead(path);
    const range: ReadRange = { offset: p.offset, length: p.length };
    const head = { path, size: file.size, mtime: file.mtime };
    if (!p.stream) {
      try {
        const { bytes, hash } = await readInline(file, range, config.maxInlineReadBytes);
        return {
          ...head,
          length: bytes.length,
          hash,
          content: encodeContent(bytes, p.encoding),
          encoding: p.encoding,
        };
      } finally {
        await file.handle.close();
      }
    }
    const stream = call.openStream();
    void pump(file, range, stream, log);
    return { ...head, length: p.length ?? Math.max(0, file.size - p.offset), streamId: stream.id };
  };
}

/** Sends the range chunk by chunk, each after the socket has room; ends with `{ bytes, hash? }`. */
async function pump(file: OpenedFile, range: ReadRange, stream: StreamSender, log: Logger): Promise<void> {
  const summary = { bytes: 0, whole: false, hash: undefined as string | undefined };
  try {
    for await (const chunk of readRange(file, range, summary)) {
      await stream.ready();
      if (stream.finished) return; // the reader cancelled or went away
      stream.writeFrame(chunk.frame);
    }
    stream.end({ bytes: summary.bytes, ...(summary.hash ? { hash: summary.hash } : {}) });
  } catch (err) {
    try {
      stream.fail(fromSystemError(err));
    } catch {
      log.error({ err }, 'fs.readFile stream failed');
      stream.fail(errors.internal());
    }
  } finally {
    await file.handle.close();
  }
}
