/**
 * `klient run`: the agent as installed on a machine. It reads its kite.key (which names the
 * machine and Kloud), serves its methods on its own address (direct connections with an
 * access token), and keeps a link to Kloud so callers reach it through Kloud as well, even
 * behind NAT. Settings: every `klient serve` flag, plus the kite.key file and Kloud's URL
 * (flags or the environment the install script writes to klient.env).
 */
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { startKlient } from '../server.js';
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
): Promise<RunningAgent> {
  const keySetting = `--${runSettings.kiteKey.flag} (${runSettings.kiteKey.env})`;
  const kite = await readKiteKey(
    flags[runSettings.kiteKey.flag] ?? env[runSettings.kiteKey.env] ?? runSettings.kiteKey.default,
    keySetting,
  );
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
  const klient = await startKlient(config, { log });
  const link = linkToKloud({
    kloudUrl,
    kiteKey: kite.token,
    local: {
      host: config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host,
      port: klient.port,
    },
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
      await klient.close();
    },
  };
}
