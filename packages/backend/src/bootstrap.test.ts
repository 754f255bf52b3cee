import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdmin } from './bootstrap.js';
import { backendConfigFromEnv, ConfigError } from './config.js';
import { KEY_FILE } from './crypto/keyring.js';
import { openStore } from './store/store.js';
import { STORE_KINDS, storeHarness } from './testing/stores.js';

const run = promisify(execFile);
const cli = join(import.meta.dirname, 'cli.ts');
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kk-cli-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(STORE_KINDS)('first start on %s', (kind) => {
  const harness = storeHarness(kind);
  beforeAll(() => harness.setup());
  afterAll(() => harness.teardown());

  it('makes one admin with a working token, once, even when two starts race', async () => {
    const opened = await harness.open();
    const a = opened.store;
    // PostgreSQL: two processes' stores. SQLite is one process's store: two starts on one connection.
    const b = kind === 'postgres' ? await harness.reopen(opened) : a;
    const results = await Promise.all([bootstrapAdmin(a), bootstrapAdmin(b)]);
    const made = results.filter(Boolean);
    expect(made).toHaveLength(1);
    expect(made[0]!.user).toMatchObject({ username: 'admin', isAdmin: true });
    expect((await a.tokens.verify(made[0]!.token))?.userId).toBe(made[0]!.user.id);
    expect(await bootstrapAdmin(a)).toBeUndefined();
    expect(await a.users.count()).toBe(1);
  });
});

describe('config', () => {
  it('names the bad setting', () => {
    expect(() => backendConfigFromEnv({ DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    expect(() => backendConfigFromEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL:/);
    expect(() => backendConfigFromEnv({ KK_CREDENTIAL_KEY: 'c2hvcnQ=' })).toThrow(/^KK_CREDENTIAL_KEY:/);
    const config = backendConfigFromEnv({ KK_DATA_DIR: 'rel/dir' });
    expect(config.dataDir.endsWith('/rel/dir')).toBe(true);
    expect(config.databaseUrl).toBeUndefined();
  });
});

describe('cli', () => {
  it('bootstraps, then rotates the credential key of a data directory', async () => {
    const dataDir = tempDir();
    const env = { ...process.env, DATABASE_URL: '', KK_CREDENTIAL_KEY: '' };
    const boot = await run(process.execPath, ['--import', 'tsx', cli, 'bootstrap', '--data-dir', dataDir], {
      env,
    });
    expect(JSON.parse(boot.stdout)).toMatchObject({ username: 'admin' });
    const store = await openStore({ dataDir });
    const admin = (await store.users.byUsername('admin'))!;
    const cred = await store.credentials.create(
      { provider: 'aws', title: 't', data: { k: 'secret-value' } },
      admin.id,
    );
    const before = JSON.parse(readFileSync(join(dataDir, KEY_FILE), 'utf8')).current;
    await store.close();
    const rotated = await run(
      process.execPath,
      ['--import', 'tsx', cli, 'rotate-key', '--data-dir', dataDir],
      { env },
    );
    const result = JSON.parse(rotated.stdout);
    expect(result).toMatchObject({ resealed: 1, retired: [before] });
    expect(statSync(join(dataDir, KEY_FILE)).mode & 0o777).toBe(0o600);
    const again = await openStore({ dataDir });
    expect((await again.credentials.secret(cred.id)).k).toBe('secret-value');
    await again.close();
    await expect(run(process.execPath, ['--import', 'tsx', cli, 'nonsense'], { env })).rejects.toMatchObject({
      code: 2,
    });
  });
});
