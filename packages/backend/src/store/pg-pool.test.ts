/**
 * The PostgreSQL store through a server restart, in process: a transaction whose connection the
 * server ends mid-way fails with `unavailable` (and the process lives on: pg's unheard 'error'
 * would end it), every call while the server is away fails the same way, and once it is back the
 * same store answers again without being reopened. Unrelated errors keep their own code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../../test/support/postgres.js';
import { BackendError } from '../errors.js';
import { openStore, type Store } from './store.js';

let server: TestPostgres;
let store: Store;
const dataDir = mkdtempSync(join(tmpdir(), 'kk-pg-pool-'));

beforeAll(async () => {
  server = await startPostgres();
  store = await openStore({ dataDir, databaseUrl: server.url, logger: { warn: () => undefined } });
}, 120_000);
afterAll(async () => {
  await store?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const unavailable = { code: 'unavailable', status: 503, details: { retryAfterSeconds: 1 } };

describe('the PostgreSQL store through a server restart', () => {
  it('answers unavailable while the server is away, and again by itself once it is back', async () => {
    await store.users.create({ username: 'ada' }, null);
    const interrupted = store.conn.write(async (trx) => {
      await trx.selectFrom('users').select('id').execute();
      // The server goes away while this transaction holds its connection between statements.
      await server.shutdown();
      return trx.selectFrom('users').select('id').execute();
    });
    await expect(interrupted).rejects.toBeInstanceOf(BackendError);
    await expect(interrupted).rejects.toMatchObject(unavailable);

    await expect(store.users.byUsername('ada')).rejects.toMatchObject(unavailable);
    await expect(store.events.list({ machineId: 'm', limit: 1 })).rejects.toMatchObject(unavailable);
    expect(await store.ping()).toBe(false);

    await server.start();
    expect((await store.users.byUsername('ada'))?.username).toBe('ada');
    expect(await store.ping()).toBe(true);
    // A statement's own failure is not the database being away.
    await expect(store.users.create({ username: 'ada' }, null)).rejects.not.toMatchObject({
      code: 'unavailable',
    });
  }, 60_000);
});
