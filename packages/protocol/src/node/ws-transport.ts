import type WebSocket from 'ws';
import type { Peer } from '../peer.js';
import type { SendTracker, Transport } from '../transport.js';
import { trackSends } from './send-tracker.js';

/** Adapts a `ws` socket to the peer's transport seam. */
export function wsTransport(ws: WebSocket): Transport {
  const tracker = trackWebSocketSends(ws);
  return {
    send: tracker.send,
    whenBufferedBelow: tracker.whenBufferedBelow,
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    close: (code, reason) => ws.close(code, reason),
    pauseReading: () => ws.pause(),
    resumeReading: () => ws.resume(),
  };
}

/** A `ws` socket's sends, tracked so writers wake when room frees (see send-tracker.ts). */
export function trackWebSocketSends(ws: WebSocket): SendTracker {
  return trackSends(
    (data, sent) => ws.send(data, sent),
    () => ws.bufferedAmount,
  );
}

/** Feeds a `ws` socket's messages and close to a peer. */
export function bindPeer(ws: WebSocket, peer: Peer): void {
  ws.on('message', (data, isBinary) => {
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    peer.receive(isBinary ? bytes : bytes.toString('utf8'));
  });
  ws.on('close', (code, reason) => peer.handleTransportClose(code, reason.toString()));
  ws.on('error', () => {
    // 'close' follows every error; the peer learns of the end there.
  });
}

/**
 * `ws` closes an oversized frame with 1009 but no reason; callers deserve to know which limit
 * they hit, so the reason is filled in on this socket's close.
 */
export function explainOversize(ws: WebSocket, maxFrameBytes: number): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) =>
    close(code, code === 1009 && !reason ? `frame larger than the ${maxFrameBytes}-byte limit` : reason);
}
