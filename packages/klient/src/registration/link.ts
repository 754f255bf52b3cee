/**
 * Klient's link to Kloud (Koding's kontrol registration): a WebSocket *out* to
 * `<kloud>/klient/register` authenticated with the kite.key. On every (re)connection Klient
 * announces itself (`kite.register`), then calls `kite.heartbeat` at the interval Kloud asks
 * for. Over the same link Kloud calls Klient: `tunnel.open` for a caller routed through Kloud,
 * and any Klient method Kloud needs itself (provisioners via exec.run, klient.usage for idle
 * checks). The protocol client reconnects with backoff and jitter when Kloud goes away.
 */
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { connect } from '@kk/protocol/node.js';
import type { HandlerMap } from '@kk/protocol/peer.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { type ChannelTarget, openChannel } from './channel.js';
import { type KiteKey, replaceKiteKey } from './kite-key.js';

export interface LinkOptions extends Omit<ChannelTarget, 'kiteKey'> {
  kite: KiteKey;
  /** Where the kite.key lives, so a key Kloud rotates survives a restart. */
  kiteKeyFile: string;
  /** Klient's methods, served to Kloud over the link. */
  methods: HandlerMap;
  /** Serves a caller's connection that arrived through Kloud. */
  accept: (socket: Duplex) => void;
  /** Where Klient listens for direct connections, announced to Kloud. */
  directUrl?: string;
  log: Logger;
}

export interface KloudLink {
  client: RpcClient;
  close(): void;
}

export function registrationUrl(kloudUrl: string): string {
  const url = new URL('/klient/register', kloudUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export function linkToKloud(options: LinkOptions): KloudLink {
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let kite = options.kite;
  const client = connect(registrationUrl(options.kloudUrl), () => kite.token, {
    // Kloud is the other end: it may call everything Klient serves (it holds the machine's own key).
    remotePrincipal: { sub: 'kloud', scope: 'owner' },
    methods: {
      ...options.methods,
      'tunnel.open': async ({ channelId }) => {
        await openChannel({ ...options, kiteKey: kite.token }, channelId, options.accept);
        return { ok: true as const };
      },
      'kite.rotateKey': async ({ kiteKey }) => {
        kite = await replaceKiteKey(options.kiteKeyFile, kite, kiteKey);
        options.log.info('kite.key replaced by Kloud (signing key rotation)');
        return { ok: true as const };
      },
    },
  });
  client.onConnect(async (peer) => {
    clearInterval(heartbeat);
    try {
      const reg = await peer.call('kite.register', {
        version: VERSION,
        url: options.directUrl,
        hostname: hostname(),
      });
      options.log.info({ machineId: reg.machineId, heartbeatMs: reg.heartbeatMs }, 'registered with Kloud');
      heartbeat = setInterval(() => {
        peer.call('kite.heartbeat', {}, { timeoutMs: reg.heartbeatMs * 2 }).catch((err: unknown) => {
          options.log.warn({ err }, 'heartbeat failed; the link reconnects if Kloud is gone');
        });
      }, reg.heartbeatMs);
      heartbeat.unref();
    } catch (err) {
      options.log.warn({ err }, 'registration failed; will retry on the next connection');
      peer.close(1011, 'registration failed');
    }
  });
  client.onState((state, error) => {
    if (state !== 'open') options.log.info({ state, reason: error?.message }, 'link to Kloud not open');
  });
  return {
    client,
    close: () => {
      clearInterval(heartbeat);
      client.close();
    },
  };
}
