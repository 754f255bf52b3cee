import WebSocket from 'ws';
import {
  type ClientOptions,
  connect as connectWith,
  type RpcClient,
  type TokenProvider,
} from '../client/client.js';
import type { OpenedSocket, SocketFactory, SocketLike } from '../client/socket.js';
import { trackWebSocketSends } from './ws-transport.js';

/**
 * `ws` with the token in the Authorization header, pings observed, and reads pausable. Frames
 * carry an all-zero mask, which both ends of `ws` skip: masking guards proxies from a hostile page's
 * script in a browser, not from this process, and XORing every uploaded byte in JavaScript on both
 * sides was the larger part of an upload's CPU.
 */
export const nodeSocketFactory: SocketFactory = (url, token, maxFrameBytes) => {
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${token}` },
    maxPayload: maxFrameBytes,
    generateMask: (mask) => mask.fill(0),
  });
  const refusal = new Promise<{ status: number; body: string } | undefined>((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      // ws leaves a refused upgrade to us: read the body, then report the socket closed once.
      res.once('close', () => {
        resolve({ status: res.statusCode ?? 0, body });
        _req.destroy();
        ws.emit('close', 1006, Buffer.from(''));
      });
    });
    ws.once('open', () => resolve(undefined));
    ws.once('close', () => resolve(undefined));
  });
  const opened: OpenedSocket = {
    socket: ws as unknown as SocketLike,
    onPing: (listener) => ws.on('ping', listener),
    binaryType: 'nodebuffer',
    trackSends: () => trackWebSocketSends(ws),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    refusal,
  };
  return opened;
};

export function connect(
  url: string,
  tokenProvider: TokenProvider | string,
  options: ClientOptions = {},
): RpcClient {
  return connectWith(url, tokenProvider, { socketFactory: nodeSocketFactory, ...options });
}
