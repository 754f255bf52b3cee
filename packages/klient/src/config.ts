/**
 * Klient's configuration: every setting, its default, its flag and its environment variable,
 * in one place. `loadConfig` reads flags over environment over defaults and validates it all
 * before anything starts; a bad value is a ConfigError naming the setting and how to set it.
 */
import { isAbsolute, join } from 'node:path';
import { accountHome } from './home.js';

export interface KlientConfig {
  /** Where to listen for WebSocket connections. */
  host: string;
  port: number;
  /** Trust anchor for access tokens: Kloud's JWKS URL, or a JWK/JWKS file (standalone use). */
  jwksUrl?: string;
  publicKeyFile?: string;
  /** This machine's kite id: the audience every access token must carry. */
  kiteId: string;
  /** Expected token issuer (Kloud's URL); defaults to the origin of the JWKS URL. */
  issuer: string;
  /** Base of relative paths and default cwd. */
  home: string;
  /**
   * Klient's own state (the records of writes in progress, see fs/pending-writes.ts); unset:
   * `defaultStateDir()`, worked out when Klient starts.
   */
  stateDir?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxWatchesPerConnection: number;
  maxUploadsPerConnection: number;
  /** Events a slow watch consumer may fall behind by before its watch fails. */
  maxQueuedWatchEvents: number;
  /** Largest fs.readFile answered inline; larger reads need `stream: true`. */
  maxInlineReadBytes: number;
  /** Terminal settings; unset ones take the terminal manager's defaults (terminal/manager.ts). */
  terminal: {
    /** Program of a session that names none (default: the user's login shell). */
    shell?: string;
    /** A session nobody watches and nothing happens in is ended after this long. */
    idleReapMs?: number;
    maxSessionsPerUser?: number;
  };
}

/**
 * `$XDG_STATE_HOME/klient` when that is set (and absolute), else `~/.local/state/klient` of the
 * account Klient runs as: not under `--home`, whose listing is the user's own.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'klient');
  const home = accountHome();
  return home && isAbsolute(home) ? join(home, '.local', 'state', 'klient') : undefined;
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

/** Every setting's flag, environment variable and default (as text, parsed like user input). */
export const settings = {
  listen: { flag: 'listen', env: 'KLIENT_LISTEN', default: '127.0.0.1:56789' },
  jwksUrl: { flag: 'jwks-url', env: 'KLIENT_JWKS_URL' },
  publicKeyFile: { flag: 'public-key', env: 'KLIENT_PUBLIC_KEY' },
  kiteId: { flag: 'kite-id', env: 'KLIENT_KITE_ID' },
  issuer: { flag: 'issuer', env: 'KLIENT_ISSUER' },
  home: { flag: 'home', env: 'KLIENT_HOME' },
  stateDir: { flag: 'state-dir', env: 'KLIENT_STATE_DIR' },
  logLevel: { flag: 'log-level', env: 'KLIENT_LOG_LEVEL', default: 'info' },
  maxWatchesPerConnection: { flag: 'max-watches', env: 'KLIENT_MAX_WATCHES', default: '64' },
  maxUploadsPerConnection: { flag: 'max-uploads', env: 'KLIENT_MAX_UPLOADS', default: '16' },
  maxQueuedWatchEvents: {
    flag: 'max-queued-watch-events',
    env: 'KLIENT_MAX_QUEUED_WATCH_EVENTS',
    default: '10000',
  },
  maxInlineReadBytes: {
    flag: 'max-inline-read',
    env: 'KLIENT_MAX_INLINE_READ',
    default: String(4 * 1024 * 1024),
  },
  terminalShell: { flag: 'shell', env: 'KLIENT_SHELL' },
  terminalIdleSeconds: { flag: 'terminal-idle-seconds', env: 'KLIENT_TERMINAL_IDLE_SECONDS' },
  maxTerminalsPerUser: { flag: 'max-terminals', env: 'KLIENT_MAX_TERMINALS' },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;

function label(name: SettingName): string {
  const s: Setting = settings[name];
  return `--${s.flag} (${s.env})`;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  if (!match)
    throw new ConfigError(label('listen'), `expected HOST:PORT (e.g. 127.0.0.1:56789), got "${value}"`);
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError(label('listen'), `port ${port} is out of range 0-65535`);
  return { host: (match[1] ?? match[2])!, port };
}

function parseCount(name: SettingName, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(label(name), `expected a positive whole number, got "${value}"`);
  }
  return n;
}

/**
 * Build the configuration from flag values (as parsed by `parseArgs`, keyed by flag name) and
 * the environment. Flags win over the environment, which wins over defaults.
 */
export function loadConfig(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): KlientConfig {
  const raw = (name: SettingName): string | undefined => {
    const s: Setting = settings[name];
    const value = flags[s.flag] ?? env[s.env] ?? s.default;
    return value === '' ? undefined : value;
  };
  const { host, port } = parseListen(raw('listen')!);
  const jwksUrl = raw('jwksUrl');
  const publicKeyFile = raw('publicKeyFile');
  if ((jwksUrl === undefined) === (publicKeyFile === undefined)) {
    throw new ConfigError(
      `${label('jwksUrl')} / ${label('publicKeyFile')}`,
      'give exactly one trust anchor for access tokens: Kloud’s JWKS URL, or a JWK/JWKS file',
    );
  }
  if (jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new ConfigError(label('jwksUrl'), `not a URL: "${jwksUrl}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError(label('jwksUrl'), `must be an http(s) URL, got "${url.protocol}"`);
    }
  }
  const kiteId = raw('kiteId');
  if (!kiteId)
    throw new ConfigError(
      label('kiteId'),
      'required: the kite id access tokens for this machine carry as aud',
    );
  const home = raw('home') ?? accountHome();
  if (home === undefined)
    throw new ConfigError(
      label('home'),
      'required: this account has no home directory (no HOME and no passwd entry) to serve from',
    );
  if (!isAbsolute(home)) throw new ConfigError(label('home'), `must be an absolute path, got "${home}"`);
  const stateDir = raw('stateDir');
  if (stateDir !== undefined && !isAbsolute(stateDir))
    throw new ConfigError(label('stateDir'), `must be an absolute path, got "${stateDir}"`);
  const shell = raw('terminalShell');
  if (shell !== undefined && !isAbsolute(shell)) {
    throw new ConfigError(label('terminalShell'), `must be an absolute path, got "${shell}"`);
  }
  const idle = raw('terminalIdleSeconds');
  const maxTerminals = raw('maxTerminalsPerUser');
  const logLevel = raw('logLevel')!;
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(label('logLevel'), `expected one of ${logLevels.join(', ')}, got "${logLevel}"`);
  }
  const issuer = raw('issuer') ?? (jwksUrl ? new URL(jwksUrl).origin : undefined);
  if (!issuer)
    throw new ConfigError(
      label('issuer'),
      'required with --public-key: the iss access tokens carry (Kloud’s URL)',
    );
  return {
    host,
    port,
    jwksUrl,
    publicKeyFile,
    kiteId,
    issuer,
    home,
    stateDir,
    logLevel: logLevel as KlientConfig['logLevel'],
    maxWatchesPerConnection: parseCount('maxWatchesPerConnection', raw('maxWatchesPerConnection')!),
    maxUploadsPerConnection: parseCount('maxUploadsPerConnection', raw('maxUploadsPerConnection')!),
    maxQueuedWatchEvents: parseCount('maxQueuedWatchEvents', raw('maxQueuedWatchEvents')!),
    maxInlineReadBytes: parseCount('maxInlineReadBytes', raw('maxInlineReadBytes')!),
    terminal: {
      shell,
      idleReapMs: idle === undefined ? undefined : parseCount('terminalIdleSeconds', idle) * 1000,
      maxSessionsPerUser:
        maxTerminals === undefined ? undefined : parseCount('maxTerminalsPerUser', maxTerminals),
    },
  };
}
