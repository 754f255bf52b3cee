/**
 * The seam between the peer and a concrete WebSocket: `ws` on Node, the browser's WebSocket
 * in the UI, a relay inside Kloud. The peer only needs to send, to know how much is queued,
 * and to close; the adapter feeds received messages to `Peer.receive`.
 */
export interface Transport {
  send(data: string | Uint8Array): void;
  /** Bytes queued but not yet handed to the network. */
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
  /** Stop/restart reading from the network, so a slow local consumer pushes back on the sender. */
  pauseReading?(): void;
  resumeReading?(): void;
  /**
   * Node sockets: `listener` runs each time a send has been handed to the network, so a writer
   * waiting for room wakes the moment there is some. Without it (browsers have no such event) the
   * peer polls `bufferedAmount`, which leaves the socket idle between polls.
   */
  onSent?(listener: () => void): void;
}

/** Close codes this project uses besides the standard ones. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  TooLarge: 1009,
  InternalError: 1011,
  TokenExpired: 4001,
  Revoked: 4003,
  DeadPeer: 4008,
} as const;
