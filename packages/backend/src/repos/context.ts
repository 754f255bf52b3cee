import type { Connection, Db } from '../store/db.js';
import type { AuditRepo } from './audit.js';
import { type VersionedTable, versionedDelete, versionedUpdate } from './common.js';

/** What a repository is built from: the connection and the audit log it writes every change to. */
export interface RepoContext {
  conn: Connection;
  audit: AuditRepo;
}

/** The user a change is made by; null for Kloud's own work (reconciliation, leases). */
export type Actor = string | null;

/**
 * Update and delete of one versioned row with its audit entry, in one transaction: the pair
 * every repository's `update` and `delete` are made of. Actions read `<resourceType>.update`
 * and `<resourceType>.delete`.
 */
export function versionedRow(ctx: RepoContext, table: VersionedTable, resourceType: string) {
  const record = (trx: Db, verb: string, id: string, actor: Actor, details: Record<string, unknown>) =>
    ctx.audit.record(trx, {
      actorId: actor,
      action: `${resourceType}.${verb}`,
      resourceType,
      resourceId: id,
      details,
    });
  return {
    /** `set` goes to the row; `details` (default: `set`) to the audit log, so leave secrets and bulky content out of it. */
    update: (
      id: string,
      set: Record<string, unknown>,
      ifVersion: number | undefined,
      actor: Actor,
      details = set,
    ) =>
      ctx.conn.write(async (trx) => {
        await versionedUpdate(trx, table, id, ifVersion, set);
        await record(trx, 'update', id, actor, details);
      }),
    /** `guard` runs first in the same transaction; it throws to refuse the delete. */
    delete: (id: string, ifVersion: number | undefined, actor: Actor, guard?: (trx: Db) => Promise<void>) =>
      ctx.conn.write(async (trx) => {
        await guard?.(trx);
        await versionedDelete(trx, table, id, ifVersion);
        await record(trx, 'delete', id, actor, {});
      }),
  };
}
