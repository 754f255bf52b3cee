import { describe, expect, it } from 'vitest';
import { ConfigError, defaultStateDir, loadConfig } from './config.js';

const minimal = { 'public-key': '/etc/klient/jwks.json', 'kite-id': 'k1', issuer: 'https://kloud.example' };

function refusal(flags: Record<string, string>, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadConfig(flags, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the defaults once', () => {
    const config = loadConfig(minimal, {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 56789,
      kiteId: 'k1',
      logLevel: 'info',
      maxWatchesPerConnection: 64,
      maxInlineReadBytes: 4 * 1024 * 1024,
    });
    expect(config.home).toMatch(/^\//);
  });

  it('takes flags over the environment over defaults', () => {
    const env = { KLIENT_LISTEN: '0.0.0.0:1000', KLIENT_MAX_WATCHES: '5', KLIENT_KITE_ID: 'from-env' };
    expect(loadConfig({ ...minimal, listen: '[::1]:2000' }, env)).toMatchObject({
      host: '::1',
      port: 2000,
      maxWatchesPerConnection: 5,
      kiteId: 'k1',
    });
    const { 'kite-id': _, ...withoutKite } = minimal;
    expect(loadConfig(withoutKite, env).kiteId).toBe('from-env');
  });

  it('leaves terminal settings to the terminal manager unless given', () => {
    expect(loadConfig(minimal, {}).terminal).toEqual({
      shell: undefined,
      idleReapMs: undefined,
      maxSessionsPerUser: undefined,
    });
    const env = { KLIENT_SHELL: '/bin/sh', KLIENT_TERMINAL_IDLE_SECONDS: '60', KLIENT_MAX_TERMINALS: '3' };
    expect(loadConfig(minimal, env).terminal).toEqual({
      shell: '/bin/sh',
      idleReapMs: 60_000,
      maxSessionsPerUser: 3,
    });
    expect(refusal({ ...minimal, shell: 'bash' }).setting).toContain('--shell');
    expect(refusal({ ...minimal, 'max-terminals': '-1' }).setting).toContain('--max-terminals');
  });

  it("leaves the state directory to Klient's start unless given, and places it by XDG or the account", () => {
    expect(loadConfig(minimal, {}).stateDir).toBeUndefined();
    expect(loadConfig({ ...minimal, 'state-dir': '/var/lib/klient' }, {}).stateDir).toBe('/var/lib/klient');
    expect(defaultStateDir({ XDG_STATE_HOME: '/xdg/state' })).toBe('/xdg/state/klient');
    expect(defaultStateDir({ XDG_STATE_HOME: 'relative' })).toMatch(/^\/.*\/\.local\/state\/klient$/);
  });

  it('derives the issuer from the JWKS URL', () => {
    const config = loadConfig(
      { 'jwks-url': 'https://kloud.example:8443/.well-known/jwks.json', 'kite-id': 'k1' },
      {},
    );
    expect(config.issuer).toBe('https://kloud.example:8443');
  });

  it('names the bad setting and how to set it', () => {
    expect(refusal({ ...minimal, listen: 'nope' }).message).toMatch(/--listen \(KLIENT_LISTEN\).*HOST:PORT/);
    expect(refusal({ ...minimal, listen: 'h:70000' }).message).toContain('out of range');
    expect(refusal({ 'kite-id': 'k', issuer: 'i' }).message).toMatch(/--jwks-url.*--public-key.*exactly one/);
    expect(refusal({ ...minimal, 'jwks-url': 'https://x/jwks' }).message).toContain('exactly one');
    expect(refusal({ 'jwks-url': 'ftp://x/jwks', 'kite-id': 'k' }).message).toContain('http(s)');
    expect(refusal({ ...minimal, 'kite-id': '' }).setting).toContain('--kite-id');
    expect(refusal({ 'public-key': '/k', 'kite-id': 'k' }).setting).toContain('--issuer');
    expect(refusal({ ...minimal, home: 'relative' }).message).toContain('absolute');
    expect(refusal(minimal, { KLIENT_STATE_DIR: 'state' }).message).toMatch(
      /--state-dir \(KLIENT_STATE_DIR\).*absolute/,
    );
    expect(refusal({ ...minimal, 'log-level': 'loud' }).message).toContain('one of');
    expect(refusal(minimal, { KLIENT_MAX_WATCHES: '0' }).message).toMatch(
      /--max-watches \(KLIENT_MAX_WATCHES\).*positive/,
    );
    expect(refusal(minimal, { KLIENT_MAX_INLINE_READ: '1e6' }).setting).toContain('--max-inline-read');
  });
});
