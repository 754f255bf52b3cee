/**
 * The one place WebSocket upgrades on Kloud's port are routed:
 *
 *   /klient/register          a Klient's link (kite.key)               → registry
 *   /tunnel/<channelId>       a Klient's data connection (kite.key)    → tunnel
 *   /machines/<id>/klient     a caller to a machine (access token)     → tunnel
 *   /api/v1/rpc               Kloud's own RPC methods (API token)      → rpc endpoint
 *
 * Anything else is answered 404 before a socket is made.
 */
import type { Server } from 'node:http';
import type { RpcEndpoint } from '@kk/protocol/node.js';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { refuseUpgrade } from './refuse-upgrade.js';

export interface UpgradeTargets {
  registry: Registry;
  tunnel: Tunnel;
  rpc: RpcEndpoint;
  log: Logger;
}

export function routeUpgrades(server: Server, t: UpgradeTargets): void {
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://kloud').pathname;
    const fail = (err: unknown) => {
      t.log.error({ err, path }, 'upgrade failed');
      socket.destroy();
    };
    if (path === '/klient/register') return t.registry.handleUpgrade(req, socket, head);
    if (path === '/api/v1/rpc') return void t.rpc.handleUpgrade(req, socket, head).catch(fail);
    const channel = /^\/tunnel\/([A-Za-z0-9-]{16,100})$/.exec(path);
    if (channel) return void t.tunnel.handleKlient(req, socket, head, channel[1]!).catch(fail);
    const machine = /^\/machines\/([A-Za-z0-9_-]{1,100})\/klient$/.exec(path);
    if (machine) return void t.tunnel.handleCaller(req, socket, head, machine[1]!).catch(fail);
    refuseUpgrade(socket, 404, 'NotFound', `no WebSocket endpoint at ${path}`);
  });
}
