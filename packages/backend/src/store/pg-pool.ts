/**
 * The PostgreSQL pool Kysely draws from, made to survive the server going away (restart,
 * failover, network cut) without ending the process and with a clear error for the caller:
 *
 * - A connection the server drops while it is checked out (in a transaction, between queries)
 *   makes pg emit `error` on it; unheard, that would end the process. It is heard here, and
 *   the connection is marked broken (the pool discards it on release).
 * - Failing to get a connection, a query failing because its connection broke, and the
 *   server's own "I am shutting down / starting / unreachable" errors (SQLSTATE class 08,
 *   57P01–57P03) become BackendError `unavailable` (HTTP 503, Retry-After: 1): the database is away, retry.
 *   Every other error (constraint, syntax, serialization) passes through unchanged.
 *
 * Once the server is back, the next query opens a new connection: no restart needed.
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { BackendError } from '../errors.js';

/** How long a caller waits for a connection before hearing that the database is unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** SQLSTATEs of a server that is going away or not there yet; class 08 is "connection exception". */
const AWAY = new Set(['57P01', '57P02', '57P03']);

const unavailable = (cause: unknown) =>
  Object.assign(
    new BackendError('unavailable', 'the database is unavailable; retry shortly', { retryAfterSeconds: 1 }),
    { cause },
  );

/** True when `err` says the database (not the statement) failed. */
function databaseAway(err: unknown, connectionBroken: boolean): boolean {
  if (err instanceof pg.DatabaseError) return err.code?.startsWith('08') === true || AWAY.has(err.code ?? '');
  return connectionBroken;
}

export interface ResilientPool extends PostgresPool {
  /** The underlying pool, for its `error` event (idle connections the server dropped). */
  pool: pg.Pool;
}

export function resilientPool(options: pg.PoolConfig): ResilientPool {
  const pool = new pg.Pool({ connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true, ...options });
  const broken = new WeakSet<pg.PoolClient>();
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const known = wrapped.get(client);
    if (known) return known;
    // Heard for the connection's whole life; while idle the pool's own listener hears it too.
    client.on('error', () => broken.add(client));
    const query = ((sql: unknown, parameters?: ReadonlyArray<unknown>) => {
      // Cursors (streamed reads) are passed through as they are; we do not use them.
      if (typeof sql !== 'string') return client.query(sql as pg.Submittable);
      return client.query(sql, parameters as unknown[]).catch((err: unknown) => {
        throw databaseAway(err, broken.has(client)) ? unavailable(err) : err;
      });
    }) as unknown as PostgresPoolClient['query'];
    const w: PostgresPoolClient = { query, release: () => client.release() };
    wrapped.set(client, w);
    return w;
  };

  return {
    pool,
    async connect() {
      try {
        return wrap(await pool.connect());
      } catch (err) {
        throw unavailable(err);
      }
    },
    end: () => pool.end(),
  };
}
