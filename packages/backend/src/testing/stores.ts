/**
 * Real stores for tests and benchmarks: a SQLite file in a temporary directory, or a fresh
 * database on a throw-away PostgreSQL server (test/support/postgres.ts). `describe.each(STORE_KINDS)`
 * runs one suite against both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../../../../test/support/postgres.js';
import { openStore, type Store, type StoreOptions } from '../store/store.js';

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface OpenedStore {
  store: Store;
  dataDir: string;
  databaseUrl?: string;
}

export interface StoreHarness {
  /** Starts PostgreSQL for the `postgres` kind; call once (beforeAll). */
  setup(): Promise<void>;
  /** A new, empty, migrated store. */
  open(options?: Partial<StoreOptions>): Promise<OpenedStore>;
  /** Another store over the same data (a second process, a restart). */
  reopen(opened: OpenedStore, options?: Partial<StoreOptions>): Promise<Store>;
  /** Closes every store and removes every file and server (afterAll). */
  teardown(): Promise<void>;
}

export function storeHarness(kind: StoreKind, serverOptions: { fsync?: boolean } = {}): StoreHarness {
  let server: TestPostgres | undefined;
  let count = 0;
  const stores: Store[] = [];
  const dirs: string[] = [];
  const track = (store: Store) => {
    stores.push(store);
    return store;
  };
  return {
    async setup() {
      if (kind === 'postgres') server = await startPostgres(serverOptions);
    },
    async open(options = {}) {
      const dataDir = mkdtempSync(join(tmpdir(), 'kk-store-'));
      dirs.push(dataDir);
      const databaseUrl = server ? await server.createDatabase(`kk_${process.pid}_${count++}`) : undefined;
      const store = track(await openStore({ dataDir, databaseUrl, ...options }));
      return { store, dataDir, databaseUrl };
    },
    async reopen(opened, options = {}) {
      return track(await openStore({ dataDir: opened.dataDir, databaseUrl: opened.databaseUrl, ...options }));
    },
    async teardown() {
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      await server?.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
