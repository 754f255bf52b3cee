/**
 * The AWS provider's settings: options given once when Kloud builds the provider (defaults
 * written here), and each credential's secret fields, checked before any call is made.
 */
import type { Logger } from 'pino';
import { ProviderError } from '../errors.js';
import type { ProviderCredential } from '../provider.js';
import { defaultRetry, type RetryOptions } from '../retry.js';

export interface ImageFamily {
  /** What templates write as `image` (`debian-12`); the newest matching AMI is used. */
  key: string;
  title: string;
  /** Account that publishes it (Debian: 136693071363, Canonical: 099720109477). */
  owner: string;
  /** EC2 `name` filter with wildcards. */
  namePattern: string;
}

export interface AwsProviderOptions {
  /** An EC2-compatible endpoint for every credential (a credential's own `endpoint` wins). */
  endpoint?: string;
  retry?: RetryOptions;
  /** How often waiters poll DescribeInstances. */
  pollIntervalMs?: number;
  /** How long a waiter waits for an instance to reach a state. */
  waitTimeoutMs?: number;
  /** Per HTTP request. */
  requestTimeoutMs?: number;
  /** Port opened in the security group for direct connections to Klient. */
  klientPort?: number;
  /** Who may reach that port (and SSH when a key is imported). */
  ingressCidr?: string;
  /** An OpenSSH public key imported as the credential's key pair; no key pair when absent. */
  sshPublicKey?: string;
  /** Size used when a machine names none. */
  defaultSize?: string;
  /** Image families offered by listAvailable; the first is the default image. */
  imageFamilies?: ImageFamily[];
  /** CPU architecture of offered sizes and images (the Klient build's). */
  architecture?: 'x86_64' | 'arm64';
  logger?: Logger;
}

export const awsDefaults = {
  retry: defaultRetry,
  pollIntervalMs: 5_000,
  waitTimeoutMs: 10 * 60_000,
  requestTimeoutMs: 30_000,
  klientPort: 56789,
  ingressCidr: '0.0.0.0/0',
  defaultSize: 't3.micro',
  architecture: 'x86_64',
  imageFamilies: [
    {
      key: 'debian-12',
      title: 'Debian 12 (bookworm)',
      owner: '136693071363',
      namePattern: 'debian-12-amd64-*',
    },
    {
      key: 'ubuntu-24.04',
      title: 'Ubuntu 24.04 LTS',
      owner: '099720109477',
      namePattern: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*',
    },
  ],
} satisfies Required<Omit<AwsProviderOptions, 'endpoint' | 'sshPublicKey' | 'logger'>>;

export type AwsSettings = typeof awsDefaults &
  Pick<AwsProviderOptions, 'endpoint' | 'sshPublicKey' | 'logger'>;

export function awsSettings(options: AwsProviderOptions): AwsSettings {
  const settings = { ...awsDefaults, ...options } as AwsSettings;
  for (const key of ['pollIntervalMs', 'waitTimeoutMs', 'requestTimeoutMs', 'klientPort'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] <= 0) {
      throw new Error(`aws provider option ${key} must be a positive integer, got ${settings[key]}`);
    }
  }
  if (settings.endpoint !== undefined) checkEndpoint(settings.endpoint, 'aws provider option endpoint');
  if (settings.imageFamilies.length === 0)
    throw new Error('aws provider option imageFamilies must not be empty');
  return settings;
}

function checkEndpoint(endpoint: string, what: string): void {
  if (!/^https?:\/\/[^/\s]+\/?$/.test(endpoint))
    throw new Error(`${what} must be an http(s) origin, got ${endpoint}`);
}

/** What one credential's secret holds. */
export interface AwsCredentialSecret {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  endpoint?: string;
}

/** Reads and checks a credential's secret; throws ProviderError `credential` naming the missing field. */
export function awsSecret(credential: ProviderCredential): AwsCredentialSecret {
  const { secret } = credential;
  for (const field of ['accessKeyId', 'secretAccessKey', 'region'] as const) {
    if (typeof secret[field] !== 'string' || secret[field] === '') {
      throw new ProviderError('aws', 'credential', `aws credential ${credential.id} has no ${field}`);
    }
  }
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(secret.region!)) {
    throw new ProviderError(
      'aws',
      'credential',
      `aws credential ${credential.id}: ${secret.region} is not a region name`,
    );
  }
  if (secret.endpoint !== undefined) {
    try {
      checkEndpoint(secret.endpoint, 'endpoint');
    } catch (error) {
      throw new ProviderError(
        'aws',
        'credential',
        `aws credential ${credential.id}: ${(error as Error).message}`,
      );
    }
  }
  return {
    accessKeyId: secret.accessKeyId!,
    secretAccessKey: secret.secretAccessKey!,
    sessionToken: secret.sessionToken || undefined,
    region: secret.region!,
    endpoint: secret.endpoint || undefined,
  };
}
