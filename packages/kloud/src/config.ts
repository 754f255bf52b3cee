/**
 * Kloud's configuration: every setting, its default, its flag and its environment variable,
 * written once here. `loadKloudConfig` reads flags over environment over defaults and checks
 * everything before anything starts; a bad value is a ConfigError naming the setting.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  type BackendConfig,
  ConfigError as BackendConfigError,
  backendConfigFromEnv,
} from '@kk/backend/config.js';

export interface KloudConfig {
  host: string;
  port: number;
  /** The URL machines and callers reach Kloud at (kite.key issuer); default http://host:port. */
  publicUrl?: string;
  dataDir: string;
  /** `postgres://…` to use PostgreSQL; unset for SQLite in the data directory. */
  databaseUrl?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** What the download endpoint serves: the single executable, the source launcher, or the first that fits. */
  klientArtifact: 'auto' | 'executable' | 'launcher';
  leaseMs: number;
  registerTimeoutMs: number;
  provisionTimeoutMs: number;
  heartbeatMs: number;
  /** Background jobs: how often each sweep runs. 0 turns the background jobs off. */
  sweepMs: number;
  /** Builds still in progress after this long are failed and cleaned up. */
  buildDeadlineMs: number;
  /** Machines idle this long are stopped, unless their own meta says otherwise (0 = never). */
  idleStopMinutes: number;
  /** The backend's settings (credential keys from KK_CREDENTIAL_KEY …), with Kloud's data dir and database. */
  backend: BackendConfig;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`invalid setting ${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

interface Setting {
  flag: string;
  env: string;
  default?: string;
}

export const settings = {
  listen: { flag: 'listen', env: 'KLOUD_LISTEN', default: '127.0.0.1:8080' },
  publicUrl: { flag: 'public-url', env: 'KLOUD_PUBLIC_URL' },
  dataDir: { flag: 'data-dir', env: 'KLOUD_DATA_DIR', default: '.kloud' },
  databaseUrl: { flag: 'database-url', env: 'DATABASE_URL' },
  logLevel: { flag: 'log-level', env: 'KLOUD_LOG_LEVEL', default: 'info' },
  klientArtifact: { flag: 'klient-artifact', env: 'KLOUD_KLIENT_ARTIFACT', default: 'auto' },
  leaseMs: { flag: 'lease-ms', env: 'KLOUD_LEASE_MS', default: '30000' },
  registerTimeoutMs: { flag: 'register-timeout-ms', env: 'KLOUD_REGISTER_TIMEOUT_MS', default: '120000' },
  provisionTimeoutMs: { flag: 'provision-timeout-ms', env: 'KLOUD_PROVISION_TIMEOUT_MS', default: '600000' },
  heartbeatMs: { flag: 'heartbeat-ms', env: 'KLOUD_HEARTBEAT_MS', default: '10000' },
  sweepMs: { flag: 'sweep-ms', env: 'KLOUD_SWEEP_MS', default: '60000' },
  buildDeadlineMs: { flag: 'build-deadline-ms', env: 'KLOUD_BUILD_DEADLINE_MS', default: '1800000' },
  idleStopMinutes: { flag: 'idle-stop-minutes', env: 'KLOUD_IDLE_STOP_MINUTES', default: '0' },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;

function label(name: SettingName): string {
  const s: Setting = settings[name];
  return `--${s.flag} (${s.env})`;
}

function parseWhole(
  name: SettingName,
  value: string,
  min: number,
  allowZero = false,
  unit = 'milliseconds',
): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || (n < min && !(allowZero && n === 0)))
    throw new ConfigError(
      label(name),
      `expected whole ${unit} ≥ ${min}${allowZero ? ' (or 0 for off)' : ''}, got "${value}"`,
    );
  return n;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const artifacts = ['auto', 'executable', 'launcher'] as const;

export function loadKloudConfig(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): KloudConfig {
  const raw = (name: SettingName): string | undefined => {
    const s: Setting = settings[name];
    const value = flags[s.flag] ?? env[s.env] ?? s.default;
    return value === '' ? undefined : value;
  };
  const listen = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(raw('listen')!);
  if (!listen || Number(listen[3]) > 65535)
    throw new ConfigError(
      label('listen'),
      `expected HOST:PORT (e.g. 127.0.0.1:8080), got "${raw('listen')}"`,
    );
  const publicUrl = raw('publicUrl');
  if (publicUrl !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(publicUrl);
    } catch {}
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/')
      throw new ConfigError(label('publicUrl'), `expected an http(s) URL with no path, got "${publicUrl}"`);
  }
  const databaseUrl = raw('databaseUrl');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError(
      label('databaseUrl'),
      'must start with postgres:// or postgresql:// (unset it for SQLite)',
    );
  const logLevel = raw('logLevel')!;
  if (!(logLevels as readonly string[]).includes(logLevel))
    throw new ConfigError(label('logLevel'), `expected one of ${logLevels.join(', ')}, got "${logLevel}"`);
  const artifact = raw('klientArtifact')!;
  if (!(artifacts as readonly string[]).includes(artifact))
    throw new ConfigError(
      label('klientArtifact'),
      `expected one of ${artifacts.join(', ')}, got "${artifact}"`,
    );
  const dataDir = raw('dataDir')!;
  const absoluteDataDir = isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir);
  let backend: BackendConfig;
  try {
    backend = backendConfigFromEnv(env, { dataDir: absoluteDataDir, databaseUrl });
  } catch (err) {
    if (err instanceof BackendConfigError)
      throw new ConfigError(err.setting, err.message.replace(`${err.setting}: `, ''));
    throw err;
  }
  return {
    backend,
    host: (listen[1] ?? listen[2])!,
    port: Number(listen[3]),
    publicUrl: publicUrl?.replace(/\/$/, ''),
    dataDir: absoluteDataDir,
    databaseUrl,
    logLevel: logLevel as KloudConfig['logLevel'],
    klientArtifact: artifact as KloudConfig['klientArtifact'],
    leaseMs: parseWhole('leaseMs', raw('leaseMs')!, 1000),
    registerTimeoutMs: parseWhole('registerTimeoutMs', raw('registerTimeoutMs')!, 1000),
    provisionTimeoutMs: parseWhole('provisionTimeoutMs', raw('provisionTimeoutMs')!, 1000),
    heartbeatMs: parseWhole('heartbeatMs', raw('heartbeatMs')!, 100),
    sweepMs: parseWhole('sweepMs', raw('sweepMs')!, 100, true),
    buildDeadlineMs: parseWhole('buildDeadlineMs', raw('buildDeadlineMs')!, 1000),
    idleStopMinutes: parseWhole('idleStopMinutes', raw('idleStopMinutes')!, 0, true, 'minutes'),
  };
}
