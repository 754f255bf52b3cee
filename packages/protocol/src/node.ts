/** @kk/protocol for Node: everything in the browser entry, plus the `ws` endpoint, server, client and tokens. */
export * from './index.js';
export { connect, nodeSocketFactory } from './node/connect.js';
export { type EndpointOptions, RpcEndpoint } from './node/endpoint.js';
export { createRpcServer, type RpcServer, type RpcServerOptions } from './node/server.js';
export { upgradeToken } from './node/upgrade-token.js';
export { bindPeer, wsTransport } from './node/ws-transport.js';
export * from './tokens/index.js';
