/** The audit log: who changed what, when. Written in the same transaction as the change it records. */
import type { Db } from '../store/db.js';
import { type Page, type PageQuery, parseJson, toPage } from './common.js';

export interface AuditEntry {
  seq: number;
  at: number;
  actorId: string | null;
  /** `<resource>.<verb>`, e.g. `machine.update`, `credential.use`. */
  action: string;
  resourceType: string;
  resourceId: string;
  /** What changed: field names and non-secret values. Never a secret. */
  details: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'seq' | 'at'>;

export interface AuditFilter extends PageQuery {
  actorId?: string;
  resourceType?: string;
  resourceId?: string;
}

export function auditRepo(db: Db) {
  return {
    async record(trx: Db, entry: AuditInput): Promise<void> {
      await trx
        .insertInto('auditLog')
        .values({ ...entry, at: Date.now(), details: JSON.stringify(entry.details) })
        .execute();
    },

    /** Newest first. */
    async list(filter: AuditFilter): Promise<Page<AuditEntry>> {
      let q = db.selectFrom('auditLog').selectAll();
      if (filter.actorId) q = q.where('actorId', '=', filter.actorId);
      if (filter.resourceType) q = q.where('resourceType', '=', filter.resourceType);
      if (filter.resourceId) q = q.where('resourceId', '=', filter.resourceId);
      if (filter.cursor) q = q.where('seq', '<', Number(filter.cursor));
      const rows = await q
        .orderBy('seq', 'desc')
        .limit(filter.limit + 1)
        .execute();
      return toPage(
        rows,
        filter.limit,
        (r) => ({ ...r, details: parseJson<Record<string, unknown>>(r.details) }),
        (r) => String(r.seq),
      );
    },
  };
}

export type AuditRepo = ReturnType<typeof auditRepo>;
