import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EndpointOptions, RpcEndpoint } from './endpoint.js';

export interface RpcServerOptions extends EndpointOptions {
  host?: string;
  port?: number;
  /** Upgrade path served; other paths get 404. Default: every path. */
  path?: string;
}

export interface RpcServer {
  endpoint: RpcEndpoint;
  http: Server;
  port: number;
  /** `ws://host:port/path` */
  url: string;
  close(): Promise<void>;
}

/** A standalone HTTP server that serves one RPC endpoint (Klient's `serve`, tests, benchmarks). */
export async function createRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const endpoint = new RpcEndpoint(options);
  const http = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
    res.end(JSON.stringify({ error: { code: 'UpgradeRequired', message: 'connect with a WebSocket' } }));
  });
  // A client that dribbles its upgrade headers holds a socket; don't let it hold one for long.
  http.headersTimeout = 10_000;
  http.requestTimeout = 15_000;
  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (options.path && path !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    void endpoint.handleUpgrade(req, socket, head);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint,
    http,
    port,
    url: `ws://${urlHost}:${port}${options.path ?? ''}`,
    close: async () => {
      endpoint.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
