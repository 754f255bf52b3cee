/**
 * Per-machine leases: at most one holder (a Kloud process's id) works on a machine at a time.
 * A lease lapses at `expiresAt`, so a holder that dies frees the machine without anyone's help;
 * a live holder renews before then.
 */
import { errors } from '../errors.js';
import type { Db } from '../store/db.js';
import { isForeignKeyViolation } from './common.js';

export interface Lease {
  machineId: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

export function leasesRepo(db: Db) {
  return {
    /**
     * Takes the machine's lease for `ttlMs` when it is free, lapsed, or already `holder`'s
     * (then it is extended). One statement (insert, or update guarded by the lapse check), so
     * of any number of racing callers exactly one gets `true`.
     */
    async acquire(machineId: string, holder: string, ttlMs: number): Promise<boolean> {
      const now = Date.now();
      try {
        const row = await db
          .insertInto('machineLeases')
          .values({ machineId, holder, acquiredAt: now, expiresAt: now + ttlMs })
          .onConflict((oc) =>
            oc
              .column('machineId')
              .doUpdateSet({ holder, acquiredAt: now, expiresAt: now + ttlMs })
              .where((eb) =>
                eb.or([eb('machineLeases.expiresAt', '<=', now), eb('machineLeases.holder', '=', holder)]),
              ),
          )
          .returning('holder')
          .executeTakeFirst();
        return row?.holder === holder;
      } catch (err) {
        if (isForeignKeyViolation(err)) throw errors.notFound(`no such machine: ${machineId}`);
        throw err;
      }
    },

    /** Extends a lease `holder` still has; false when it lapsed or someone else took it. */
    async renew(machineId: string, holder: string, ttlMs: number): Promise<boolean> {
      const now = Date.now();
      const result = await db
        .updateTable('machineLeases')
        .set({ expiresAt: now + ttlMs })
        .where('machineId', '=', machineId)
        .where('holder', '=', holder)
        .where('expiresAt', '>', now)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    /** Gives the lease up; false when `holder` did not hold it. */
    async release(machineId: string, holder: string): Promise<boolean> {
      const result = await db
        .deleteFrom('machineLeases')
        .where('machineId', '=', machineId)
        .where('holder', '=', holder)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    /** The current, unlapsed lease on a machine. */
    async current(machineId: string): Promise<Lease | undefined> {
      return db
        .selectFrom('machineLeases')
        .selectAll()
        .where('machineId', '=', machineId)
        .where('expiresAt', '>', Date.now())
        .executeTakeFirst();
    },
  };
}

export type LeasesRepo = ReturnType<typeof leasesRepo>;
