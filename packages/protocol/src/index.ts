/**
 * @kk/protocol — browser-safe entry: catalogue, errors, peer, streams, client, tokens' types.
 * Node-only parts (the `ws` server endpoint and client factory) live in `./node.ts`.
 */
export * from './catalogue/index.js';
export {
  type ClientOptions,
  type ClientState,
  connect,
  RpcClient,
  type TokenProvider,
} from './client/client.js';
export type { OpenedSocket, SocketFactory, SocketLike } from './client/socket.js';
export * from './errors.js';
export * from './frames.js';
export * from './limits.js';
export {
  type CallContext,
  type CallOptions,
  type Handler,
  type HandlerMap,
  Peer,
  type PeerOptions,
} from './peer.js';
export type { Principal } from './principal.js';
export { type StreamChunk, StreamReader } from './streams/reader.js';
export { StreamSender } from './streams/sender.js';
export { CloseCode, type Transport } from './transport.js';
export { parseParams } from './validation.js';
