/**
 * The DigitalOcean provider's settings (defaults written once here) and each credential's
 * secret, checked before any request is made.
 */
import type { Logger } from 'pino';
import { ProviderError } from '../errors.js';
import type { ProviderCredential } from '../provider.js';
import { defaultRetry, type RetryOptions } from '../retry.js';

export interface DigitalOceanProviderOptions {
  /** API base URL for every credential (a credential's own `baseUrl` wins). */
  baseUrl?: string;
  retry?: RetryOptions;
  pollIntervalMs?: number;
  /** How long to follow an action or wait for a new droplet. */
  waitTimeoutMs?: number;
  /** Per HTTP request. */
  requestTimeoutMs?: number;
  /** An OpenSSH public key added to the account by `bootstrap` and put on every droplet. */
  sshPublicKey?: string;
  defaultRegion?: string;
  defaultSize?: string;
  defaultImage?: string;
  /** The HTTP client; `globalThis.fetch` unless given (a proxy-aware fetch, say). */
  fetch?: typeof fetch;
  logger?: Logger;
}

export const doDefaults = {
  baseUrl: 'https://api.digitalocean.com',
  retry: defaultRetry,
  pollIntervalMs: 5_000,
  waitTimeoutMs: 10 * 60_000,
  requestTimeoutMs: 30_000,
  defaultRegion: 'nyc3',
  defaultSize: 's-1vcpu-1gb',
  defaultImage: 'debian-12-x64',
};

export type DoSettings = typeof doDefaults &
  Pick<DigitalOceanProviderOptions, 'sshPublicKey' | 'fetch' | 'logger'>;

export function doSettings(options: DigitalOceanProviderOptions): DoSettings {
  const settings = { ...doDefaults, ...options } as DoSettings;
  for (const key of ['pollIntervalMs', 'waitTimeoutMs', 'requestTimeoutMs'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] <= 0) {
      throw new Error(`digitalocean provider option ${key} must be a positive integer, got ${settings[key]}`);
    }
  }
  checkBaseUrl(settings.baseUrl, 'digitalocean provider option baseUrl');
  return settings;
}

function checkBaseUrl(url: string, what: string): void {
  if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) throw new Error(`${what} must be an http(s) origin, got ${url}`);
}

export interface DoCredentialSecret {
  token: string;
  baseUrl?: string;
}

/** Reads a credential's secret; throws ProviderError `credential` naming what is wrong. */
export function doSecret(credential: ProviderCredential): DoCredentialSecret {
  const { token, baseUrl } = credential.secret;
  if (typeof token !== 'string' || !/^[\x21-\x7e]{8,}$/.test(token)) {
    throw new ProviderError(
      'digitalocean',
      'credential',
      `digitalocean credential ${credential.id} has no usable token`,
    );
  }
  if (baseUrl !== undefined && baseUrl !== '') {
    try {
      checkBaseUrl(baseUrl, 'baseUrl');
    } catch (error) {
      throw new ProviderError(
        'digitalocean',
        'credential',
        `digitalocean credential ${credential.id}: ${(error as Error).message}`,
      );
    }
    return { token, baseUrl };
  }
  return { token };
}
