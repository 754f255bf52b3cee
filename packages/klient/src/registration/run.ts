/**
 * `klient run`: the agent as installed on a machine. It reads its kite.key (which names the
 * machine and Kloud), serves its methods on its own address (direct connections with an
 * access token), and keeps a link to Kloud so callers reach it through Kloud as well, even
 * behind NAT. Settings: every `klient serve` flag, plus the kite.key file and Kloud's URL
 * (flags or the environment the install script writes to klient.env).
 */

import type { StreamingMemory } from '@kk/allocator';
import { RpcEndpoint } from '@kk/protocol/node.js';
import { createAuthenticator } from '../auth.js';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { startKlient } from '../server.js';
import { channelAcceptor } from './channel.js';
import { readKiteKey } from './kite-key.js';
import { linkToKloud } from './link.js';

/** Settings `klient run` adds to `klient serve`'s. */
export const runSettings = {
  kiteKey: { flag: 'kite-key', env: 'KLIENT_KITE_KEY', default: '/etc/klient/kite.key' },
  kloudUrl: { flag: 'kloud-url', env: 'KLIENT_KLOUD_URL' },
} as const;

export interface RunningAgent {
  url: string;
  port: number;
  kiteId: string;
  close(): Promise<void>;
}

export async function runKlient(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
  options: { memory?: StreamingMemory } = {},
): Promise<RunningAgent> {
  const keySetting = `--${runSettings.kiteKey.flag} (${runSettings.kiteKey.env})`;
  const kiteKeyFile =
    flags[runSettings.kiteKey.flag] ?? env[runSettings.kiteKey.env] ?? runSettings.kiteKey.default;
  const kite = await readKiteKey(kiteKeyFile, keySetting);
  const kloudUrl = flags[runSettings.kloudUrl.flag] ?? env[runSettings.kloudUrl.env] ?? kite.issuer;
  try {
    const u = new URL(kloudUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ConfigError(
      `--${runSettings.kloudUrl.flag} (${runSettings.kloudUrl.env})`,
      `must be Kloud's http(s) URL, got "${kloudUrl}"`,
    );
  }
  // The kite.key decides who this machine is and whom to trust: its kite id is the audience of
  // every access token, its issuer publishes the keys that sign them.
  const config = loadConfig(
    {
      ...flags,
      'kite-id': kite.kiteId,
      issuer: kite.issuer,
      'jwks-url': new URL('/.well-known/jwks.json', kloudUrl).toString(),
      'public-key': undefined,
    },
    { ...env, KLIENT_PUBLIC_KEY: undefined },
  );
  const log = createLogger(config);
  const klient = await startKlient(config, { log, memory: options.memory });
  // Callers through Kloud are served here, in this process, by an endpoint with the same
  // authentication and the very same method set as the direct listener.
  const authenticate = await createAuthenticator(config);
  const tunnelled = new RpcEndpoint({
    authenticate,
    methods: klient.methods,
    onConnection: (peer) => {
      const who = { sub: peer.principal.sub, scope: peer.principal.scope, via: 'kloud' };
      log.info(who, 'connection opened');
      peer.onClose((code) => log.info({ ...who, code }, 'connection closed'));
    },
    onInternalError: (method, err) => log.error({ method, err }, 'handler failed'),
  });
  const link = linkToKloud({
    kloudUrl,
    kite,
    kiteKeyFile,
    accept: channelAcceptor(tunnelled),
    timeoutMs: 15_000,
    methods: klient.methods,
    directUrl: klient.url,
    log,
  });
  return {
    url: klient.url,
    port: klient.port,
    kiteId: kite.kiteId,
    close: async () => {
      link.close();
      tunnelled.close();
      await klient.close();
    },
  };
}
