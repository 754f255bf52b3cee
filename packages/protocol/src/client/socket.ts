/**
 * The part of the browser's WebSocket the client uses. `ws` on Node offers the same shape, so one
 * client runs in both; only the factory differs (headers on Node, `?token=` in the browser).
 */
import type { SendTracker } from '../transport.js';

export interface SocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface OpenedSocket {
  socket: SocketLike;
  /** Node only: the server's pings, which prove the link alive without app traffic. */
  onPing?(listener: () => void): void;
  /** Node only: stop reading so the server's sends back up (receiver-side backpressure). */
  pause?(): void;
  resume?(): void;
  /** Node only: the socket's native binary type ('nodebuffer'), when it can skip the ArrayBuffer copy. */
  binaryType?: string;
  /** Node only: sends through a tracker that wakes writers when room frees (Transport.whenBufferedBelow). */
  trackSends?(): SendTracker;
  /** Node only: the HTTP status of a refused upgrade, once known. */
  refusal?: Promise<{ status: number; body: string } | undefined>;
}

export type SocketFactory = (url: string, token: string, maxFrameBytes: number) => OpenedSocket;

/** The browser's own WebSocket; the token travels as a query parameter (browsers send no headers). */
export const browserSocketFactory: SocketFactory = (url, token) => {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (!Ctor)
    throw new Error('no WebSocket in this environment; pass a socket factory (Node: @kk/protocol/node.js)');
  const withToken = new URL(url);
  withToken.searchParams.set('token', token);
  return { socket: new Ctor(withToken.toString()) };
};
