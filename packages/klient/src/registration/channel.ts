/**
 * One caller routed through Kloud (Kloud asked with `tunnel.open`): Klient opens
 * `GET <kloud>/tunnel/<channelId>` upgraded to `kloud-tunnel`, authenticated with its kite.key,
 * and joins that connection byte for byte to its own WebSocket server. Kloud replays the
 * caller's upgrade request first, so the server authenticates the caller's token and serves the
 * connection exactly like a direct one.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export const TUNNEL_PROTOCOL = 'kloud-tunnel';

export interface ChannelTarget {
  kloudUrl: string;
  kiteKey: string;
  /** Klient's own server, where the caller's connection is delivered. */
  local: { host: string; port: number };
  timeoutMs: number;
}

function join(remote: Duplex, local: Socket): void {
  const end = () => {
    remote.destroy();
    local.destroy();
  };
  remote.on('error', end).on('close', end);
  local.on('error', end).on('close', end);
  local.setNoDelay(true);
  (remote as Socket).setNoDelay?.(true);
  remote.pipe(local);
  local.pipe(remote);
}

/** Resolves once the data connection is joined; rejects when Kloud or the local server refuse. */
export function openChannel(target: ChannelTarget, channelId: string): Promise<void> {
  const url = new URL(`/tunnel/${encodeURIComponent(channelId)}`, target.kloudUrl);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<void>((resolve, reject) => {
    const req = request(url, {
      headers: { connection: 'Upgrade', upgrade: TUNNEL_PROTOCOL, authorization: `Bearer ${target.kiteKey}` },
      timeout: target.timeoutMs,
    });
    req.on('upgrade', (_res, remote, head) => {
      const local = connect(target.local.port, target.local.host);
      local.once('connect', () => {
        if (head.length) local.write(head);
        join(remote, local);
        resolve();
      });
      local.once('error', (err) => {
        remote.destroy();
        reject(err);
      });
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
