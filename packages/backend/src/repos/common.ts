/** Pieces every repository shares: paging, JSON columns, versioned (conditional) updates. */
import { type SelectQueryBuilder, sql } from 'kysely';
import { errors } from '../errors.js';
import type { Db } from '../store/db.js';
import type { Database } from '../store/schema.js';

export interface PageQuery {
  /** 1..500; the API defaults it to 50. */
  limit: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** Rows were fetched with `limit + 1`; the extra row only says there is more. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  map: (r: R) => T,
  cursorOf: (r: R) => string,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { items: kept.map(map), nextCursor: more ? cursorOf(kept[kept.length - 1]!) : null };
}

export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export type VersionedTable = {
  [K in keyof Database]: Database[K] extends { id: string; version: number; updatedAt: number } ? K : never;
}[keyof Database];

/**
 * Applies `set` to one row and bumps its version, only if the row is still at `ifVersion`
 * (when given). The check and the write are one UPDATE, so of two writers holding the same
 * version exactly one wins. Throws not_found when the row is gone, precondition_failed when stale.
 */
export async function versionedUpdate(
  db: Db,
  table: VersionedTable,
  id: string,
  ifVersion: number | undefined,
  set: Record<string, unknown>,
): Promise<number> {
  let query = db
    .updateTable(table as 'users')
    .set({ ...set, updatedAt: Date.now(), version: sql<number>`version + 1` } as never)
    .where('id', '=', id);
  if (ifVersion !== undefined) query = query.where('version', '=', ifVersion);
  const row = await query.returning('version').executeTakeFirst();
  if (row) return row.version;
  return missingOrStale(db, table, id);
}

async function missingOrStale(db: Db, table: VersionedTable, id: string): Promise<never> {
  const current = await db
    .selectFrom(table as 'users')
    .select('version')
    .where('id', '=', id)
    .executeTakeFirst();
  if (!current) throw errors.notFound(`no such ${table.replace(/s$/, '')}: ${id}`);
  throw errors.stale(
    `${table.replace(/s$/, '')} ${id} changed since you read it (now version ${current.version}); read it again and retry`,
  );
}

/** Deletes one row, only at `ifVersion` when given; same outcomes as `versionedUpdate`. */
export async function versionedDelete(
  db: Db,
  table: VersionedTable,
  id: string,
  ifVersion: number | undefined,
): Promise<void> {
  let query = db.deleteFrom(table as 'users').where('id', '=', id);
  if (ifVersion !== undefined) query = query.where('version', '=', ifVersion);
  const result = await query.executeTakeFirst();
  if (result.numDeletedRows > 0n) return;
  await missingOrStale(db, table, id);
}

/** True when `err` is a unique-constraint violation in either store. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** True when `err` is a foreign-key violation in either store. */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

// biome-ignore lint/suspicious/noExplicitAny: works on any table's select with an `id` column
type AnySelect<R> = SelectQueryBuilder<any, any, R>;

/** Narrows `q` by every filter whose value is given (`column = value`). */
export function whereEqual<R>(q: AnySelect<R>, filters: Record<string, string | undefined>): AnySelect<R> {
  let out = q;
  for (const [column, value] of Object.entries(filters))
    if (value !== undefined) out = out.where(column, '=', value);
  return out;
}

/** One page of `q` in id (creation) order, after `query.cursor`. */
export async function pageById<R extends { id: string }, T>(
  q: AnySelect<R>,
  query: PageQuery,
  map: (r: R) => T,
): Promise<Page<T>> {
  const after = query.cursor ? q.where('id', '>', query.cursor) : q;
  const rows = await after
    .orderBy('id')
    .limit(query.limit + 1)
    .execute();
  return toPage(rows, query.limit, map, (r) => r.id);
}
