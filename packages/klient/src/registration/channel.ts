/**
 * One caller routed through Kloud (Kloud asked with `tunnel.open`): Klient opens
 * `GET <kloud>/tunnel/<channelId>` upgraded to `kloud-tunnel`, authenticated with its kite.key.
 * Kloud then replays the caller's own WebSocket upgrade request into that connection, and Klient
 * serves it in this process exactly like a direct connection: the same authentication of the
 * caller's access token, the same method set (the same processes and terminal sessions), the
 * same limits. No second hop: the connection is handed to an HTTP parser that routes the upgrade
 * to Klient's endpoint.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RpcEndpoint } from '@kk/protocol/node.js';

export const TUNNEL_PROTOCOL = 'kloud-tunnel';

export interface ChannelTarget {
  kloudUrl: string;
  kiteKey: string;
  timeoutMs: number;
}

/** An HTTP parser with no listener: it reads the replayed upgrade and hands it to `endpoint`. */
export function channelAcceptor(endpoint: RpcEndpoint): (socket: Duplex) => void {
  const parser = createServer((_req, res) => {
    res.writeHead(426, { connection: 'close' }).end();
  });
  parser.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void endpoint.handleUpgrade(req, socket, head);
  });
  return (socket) => parser.emit('connection', socket);
}

/** Resolves once the data connection is handed over; rejects when Kloud refuses it. */
export function openChannel(
  target: ChannelTarget,
  channelId: string,
  accept: (socket: Duplex) => void,
): Promise<void> {
  const url = new URL(`/tunnel/${encodeURIComponent(channelId)}`, target.kloudUrl);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<void>((resolve, reject) => {
    const req = request(url, {
      headers: { connection: 'Upgrade', upgrade: TUNNEL_PROTOCOL, authorization: `Bearer ${target.kiteKey}` },
      timeout: target.timeoutMs,
    });
    req.on('upgrade', (_res, socket, head) => {
      (socket as Socket).setNoDelay?.(true);
      socket.setTimeout(0);
      // Bytes after Kloud's 101 are the start of the caller's request: give them back to the parser.
      if (head.length) socket.unshift(head);
      accept(socket);
      resolve();
    });
    req.on('response', (res) => {
      res.resume();
      reject(new Error(`Kloud refused the channel: HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('timed out opening the channel')));
    req.on('error', reject);
    req.end();
  });
}
