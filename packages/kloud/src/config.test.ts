import { describe, expect, it } from 'vitest';
import { ConfigError, loadKloudConfig } from './config.js';

describe('loadKloudConfig', () => {
  it('has working defaults: 127.0.0.1:8080, ./.kloud, SQLite, local provider settings', () => {
    const c = loadKloudConfig({}, {}, '/srv');
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: '/srv/.kloud',
      databaseUrl: undefined,
      klientArtifact: 'auto',
    });
    expect(c.backend.dataDir).toBe('/srv/.kloud');
  });

  it('takes flags over the environment', () => {
    const c = loadKloudConfig(
      { listen: '[::1]:9000' },
      { KLOUD_LISTEN: '0.0.0.0:1', KLOUD_DATA_DIR: '/data' },
      '/srv',
    );
    expect(c).toMatchObject({ host: '::1', port: 9000, dataDir: '/data' });
  });

  it('names the bad setting', () => {
    const bad = (flags: Record<string, string>, env: Record<string, string> = {}) => {
      try {
        loadKloudConfig(flags, env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).setting;
      }
      throw new Error('accepted');
    };
    expect(bad({ listen: 'nope' })).toBe('--listen (KLOUD_LISTEN)');
    expect(bad({ 'public-url': 'ftp://x' })).toBe('--public-url (KLOUD_PUBLIC_URL)');
    expect(bad({ 'database-url': 'mysql://x' })).toBe('--database-url (DATABASE_URL)');
    expect(bad({ 'lease-ms': '10' })).toBe('--lease-ms (KLOUD_LEASE_MS)');
    expect(bad({ 'klient-artifact': 'zip' })).toBe('--klient-artifact (KLOUD_KLIENT_ARTIFACT)');
    expect(bad({}, { KK_CREDENTIAL_KEY: 'short' })).toBe('KK_CREDENTIAL_KEY');
  });
});
