/**
 * The two stores behind one query layer: a SQLite file (better-sqlite3) by default, PostgreSQL
 * (`pg`) when a `postgres://` URL is given.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Dialect, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { resilientPool } from './pg-pool.js';

export type DialectKind = 'sqlite' | 'postgres';

export interface DialectSetup {
  kind: DialectKind;
  dialect: Dialect;
  /** Where the data is, for logs: the SQLite file or the PostgreSQL host/database (never the password). */
  location: string;
}

/** The SQLite file inside a data directory. */
export function sqliteFile(dataDir: string): string {
  return join(dataDir, 'kloud.db');
}

function sqlite(dataDir: string): DialectSetup {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = sqliteFile(dataDir);
  const database = new SqliteDatabase(file);
  // WAL lets readers run beside the writer; FULL sync so a committed change survives a power cut;
  // busy_timeout so a second process waits for the write lock instead of failing at once.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  return { kind: 'sqlite', dialect: new SqliteDialect({ database }), location: file };
}

// int8 (bigint, count(*), bigserial) as a JS number: our values (ms times, sequences) stay far below 2^53.
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function postgres(url: string, poolSize: number, onPoolError: (err: Error) => void): DialectSetup {
  const pool = resilientPool({ connectionString: url, max: poolSize, types: pgTypes });
  // An idle connection the server dropped (restart, failover) is an 'error' event; unhandled it
  // would end the process. The pool discards that client and the next query opens a new one.
  pool.pool.on('error', onPoolError);
  const parsed = new URL(url);
  return {
    kind: 'postgres',
    dialect: new PostgresDialect({ pool }),
    location: `postgres://${parsed.host}${parsed.pathname}`,
  };
}

export interface DialectOptions {
  dataDir: string;
  databaseUrl?: string;
  poolSize?: number;
  /** Told about connections PostgreSQL dropped while idle (they are replaced on demand). */
  onPoolError?: (err: Error) => void;
}

export function createDialect(options: DialectOptions): DialectSetup {
  return options.databaseUrl
    ? postgres(options.databaseUrl, options.poolSize ?? 10, options.onPoolError ?? (() => undefined))
    : sqlite(options.dataDir);
}
