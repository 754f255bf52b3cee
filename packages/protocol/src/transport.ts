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
   * Node sockets: resolves once at most `bytes` are queued, woken by the socket's own send
   * completions (see node/send-tracker.ts). Without it (browsers have no such event) the peer
   * polls `bufferedAmount`, which leaves the socket idle between polls.
   */
  whenBufferedBelow?(bytes: number): Promise<void>;
}

/** A socket's sends that wake writers when room frees: what a Node transport is built from (node/send-tracker.ts). */
export type SendTracker = Pick<Required<Transport>, 'send' | 'whenBufferedBelow'>;

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
