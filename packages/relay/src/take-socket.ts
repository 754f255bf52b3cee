/**
 * Takes a connected TCP socket away from Node so the relay thread can own it: Node stops
 * reading, whatever Node already read but nobody consumed is handed over as bytes, and the
 * caller closes Node's socket once the relay holds its own copy of the descriptor.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

interface TcpHandle {
  fd?: number;
  readStop?(): number;
}

export interface TakenSocket {
  fd: number;
  /** Bytes Node had read from the socket before it stopped reading: they come first. */
  unread: Buffer;
}

/**
 * Why `stream` cannot be handed over, or undefined if it can. Only plain TCP sockets with
 * nothing still queued for writing qualify: TLS sockets hold their plaintext in Node, and queued
 * writes would land after bytes the relay writes.
 */
export function whyNotTakeable(stream: Duplex): string | undefined {
  if (!(stream instanceof Socket)) return 'not a socket';
  if ((stream as Socket & { encrypted?: boolean }).encrypted) return 'a TLS socket';
  if (stream.destroyed || !stream.readable || !stream.writable) return 'already closing';
  if (stream.writableLength > 0) return 'writes still queued';
  const handle = (stream as unknown as { _handle?: TcpHandle })._handle;
  if (typeof handle?.fd !== 'number' || handle.fd < 0 || typeof handle.readStop !== 'function')
    return 'no file descriptor';
  return undefined;
}

/** Stops Node reading `socket` and returns its descriptor and unread bytes; check `whyNotTakeable` first. */
export function takeSocket(socket: Socket): TakenSocket {
  const handle = (socket as unknown as { _handle: Required<TcpHandle> })._handle;
  handle.readStop();
  const chunks: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | string | null; chunk !== null; chunk = socket.read())
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  // Reading the buffer dry may have asked libuv to read again (if Node had stopped at its
  // high-water mark): stop it once more, so no byte after these goes to Node.
  handle.readStop();
  return { fd: handle.fd, unread: Buffer.concat(chunks) };
}
