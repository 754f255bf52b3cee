/**
 * The backend's settings: where its data lives and which database and credential key it uses.
 * Defaults are written once here; `backendConfigFromEnv` validates them at start and names the
 * bad setting when one is wrong. Kloud folds these into its own process config.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface BackendConfig {
  /** Directory holding the SQLite file and the credential key file. Created with mode 0700. */
  dataDir: string;
  /** `postgres://…` to use PostgreSQL; undefined for the SQLite file `<dataDir>/kloud.db`. */
  databaseUrl?: string;
  /** Base64 AES-256 key from the environment; undefined to keep the key in `<dataDir>/credential-keys.json`. */
  credentialKey?: string;
  /** Older base64 keys still accepted for decryption (during a rotation of an environment-held key). */
  credentialOldKeys: string[];
}

export const DEFAULT_DATA_DIR = join(homedir(), '.kloud');

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

function checkKey(setting: string, value: string): string {
  if (Buffer.from(value, 'base64').length !== 32) {
    throw new ConfigError(setting, 'must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)');
  }
  return value;
}

/** Reads KK_DATA_DIR, DATABASE_URL, KK_CREDENTIAL_KEY, KK_CREDENTIAL_OLD_KEYS; explicit overrides win. */
export function backendConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<BackendConfig> = {},
): BackendConfig {
  const dataDir = overrides.dataDir ?? env.KK_DATA_DIR ?? DEFAULT_DATA_DIR;
  if (dataDir.trim() === '') throw new ConfigError('KK_DATA_DIR', 'must not be empty');
  const databaseUrl = overrides.databaseUrl ?? (env.DATABASE_URL || undefined);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'DATABASE_URL',
      'must start with postgres:// or postgresql:// (unset it to use SQLite)',
    );
  }
  const keyValue = overrides.credentialKey ?? (env.KK_CREDENTIAL_KEY || undefined);
  const credentialKey = keyValue === undefined ? undefined : checkKey('KK_CREDENTIAL_KEY', keyValue);
  const oldKeys =
    overrides.credentialOldKeys ??
    (env.KK_CREDENTIAL_OLD_KEYS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
  for (const k of oldKeys) checkKey('KK_CREDENTIAL_OLD_KEYS', k);
  return { dataDir: resolve(dataDir), databaseUrl, credentialKey, credentialOldKeys: oldKeys };
}
