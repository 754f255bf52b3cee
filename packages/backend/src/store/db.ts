/**
 * Opens the database (SQLite or PostgreSQL), applies pending migrations, and offers the one
 * transaction shape every multi-statement write uses.
 */
import { CamelCasePlugin, Kysely, Migrator, sql } from 'kysely';
import { BackendError } from '../errors.js';
import { createDialect, type DialectKind, type DialectOptions } from './dialect.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface Connection {
  db: Db;
  kind: DialectKind;
  location: string;
  /**
   * Runs `fn` in a write transaction. SQLite: `BEGIN IMMEDIATE`, so the write lock is taken
   * before the first read and a read-then-write cannot be overtaken by another process.
   * PostgreSQL: a READ COMMITTED transaction; callers lock rows they read-then-write.
   */
  write<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openConnection(options: DialectOptions): Promise<Connection> {
  const setup = createDialect(options);
  const db = new Kysely<Database>({ dialect: setup.dialect, plugins: [new CamelCasePlugin()] });
  try {
    await migrate(db, setup.kind);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const write = <T>(fn: (trx: Db) => Promise<T>): Promise<T> =>
    setup.kind === 'postgres'
      ? db.transaction().execute(fn)
      : db.connection().execute(async (conn) => {
          await sql`begin immediate`.execute(conn);
          try {
            const result = await fn(conn);
            await sql`commit`.execute(conn);
            return result;
          } catch (err) {
            await sql`rollback`.execute(conn);
            throw err;
          }
        });
  return { db, kind: setup.kind, location: setup.location, write, close: () => db.destroy() };
}

async function migrate(db: Db, kind: DialectKind): Promise<void> {
  // The migrator keeps its own bookkeeping tables; it runs without the camelCase mapping.
  const migrator = new Migrator({ db: db.withoutPlugins(), provider: migrations(kind) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new BackendError('unavailable', `database migration ${failed} failed: ${(error as Error).message}`);
  }
}
