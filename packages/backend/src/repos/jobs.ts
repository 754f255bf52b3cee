/**
 * The job queue Kloud processes share. A job is claimed by one holder for a lease period; the
 * holder heartbeats to keep it and finishes it with `complete` or `fail`. A holder that dies lets
 * the lease lapse and another process claims the job again, until `maxAttempts` is spent and it
 * is failed. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so claimers never wait on each
 * other; SQLite claims inside `BEGIN IMMEDIATE`, one writer at a time.
 */
import type { ExpressionBuilder } from 'kysely';
import { errors } from '../errors.js';
import { newId } from '../ids.js';
import type { Connection, Db } from '../store/db.js';
import type { Database, JobState, JobsTable } from '../store/schema.js';
import { type Page, type PageQuery, pageById, parseJson } from './common.js';

/** A job row as the store hands it out: the table's columns, with payload and result parsed. */
export interface Job extends Omit<JobsTable, 'payload' | 'result'> {
  payload: unknown;
  result: unknown;
}

export interface NewJob {
  kind: string;
  machineId?: string | null;
  stackId?: string | null;
  payload?: unknown;
  /** Claims allowed before the job is failed for good; default 3. */
  maxAttempts?: number;
}

const toJob = (r: JobsTable): Job => ({
  ...r,
  payload: parseJson(r.payload),
  result: r.result === null ? null : parseJson(r.result),
});

export function jobsRepo(conn: Connection) {
  const { db } = conn;

  const claimable = (now: number, kinds?: string[]) => (eb: ExpressionBuilder<Database, 'jobs'>) => {
    const conditions = [
      eb.or([
        eb('state', '=', 'queued'),
        eb.and([eb('state', '=', 'running'), eb('leaseExpiresAt', '<=', now)]),
      ]),
      eb('attempts', '<', eb.ref('maxAttempts')),
    ];
    if (kinds?.length) conditions.push(eb('kind', 'in', kinds));
    return eb.and(conditions);
  };

  /** Running jobs whose holder vanished after their last allowed attempt: failed, with the reason. */
  const failSpent = (trx: Db, now: number) =>
    trx
      .updateTable('jobs')
      .set({
        state: 'failed',
        error: 'lease lapsed on the last attempt (holder stopped)',
        claimedBy: null,
        leaseExpiresAt: null,
        updatedAt: now,
      })
      .where('state', '=', 'running')
      .where('leaseExpiresAt', '<=', now)
      .where((eb) => eb('attempts', '>=', eb.ref('maxAttempts')))
      .execute();

  /** Updates a job only while `holder` still holds an unlapsed claim on it. */
  const whileHeld = async (id: string, holder: string, set: Partial<JobsTable>): Promise<boolean> => {
    const now = Date.now();
    const result = await db
      .updateTable('jobs')
      .set({ ...set, updatedAt: now })
      .where('id', '=', id)
      .where('state', '=', 'running')
      .where('claimedBy', '=', holder)
      .where('leaseExpiresAt', '>', now)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  };

  return {
    /** Queues a job; pass `trx` to queue it in the same transaction as the change that needs it. */
    async enqueue(input: NewJob, trx: Db = db): Promise<Job> {
      const now = Date.now();
      const row: JobsTable = {
        id: newId(now),
        kind: input.kind,
        machineId: input.machineId ?? null,
        stackId: input.stackId ?? null,
        state: 'queued',
        claimedBy: null,
        leaseExpiresAt: null,
        attempts: 0,
        maxAttempts: input.maxAttempts ?? 3,
        payload: JSON.stringify(input.payload ?? {}),
        result: null,
        error: null,
        createdAt: now,
        updatedAt: now,
      };
      await trx.insertInto('jobs').values(row).execute();
      return toJob(row);
    },

    /** The oldest claimable job (optionally of `kinds`), now running for `holder`; undefined when none. */
    async claim(holder: string, leaseMs: number, kinds?: string[]): Promise<Job | undefined> {
      return conn.write(async (trx) => {
        const now = Date.now();
        await failSpent(trx, now);
        let next = trx.selectFrom('jobs').select('id').where(claimable(now, kinds)).orderBy('id').limit(1);
        if (conn.kind === 'postgres') next = next.forUpdate().skipLocked();
        const row = await trx
          .updateTable('jobs')
          .set((eb) => ({
            state: 'running',
            claimedBy: holder,
            leaseExpiresAt: now + leaseMs,
            attempts: eb('attempts', '+', 1),
            updatedAt: now,
          }))
          .where('id', '=', next)
          .returningAll()
          .executeTakeFirst();
        return row && toJob(row);
      });
    },

    /** Extends the holder's claim; false when it lapsed or the job was finished. */
    heartbeat: (id: string, holder: string, leaseMs: number) =>
      whileHeld(id, holder, { leaseExpiresAt: Date.now() + leaseMs }),

    complete: (id: string, holder: string, result: unknown = null) =>
      whileHeld(id, holder, { state: 'done', result: JSON.stringify(result), leaseExpiresAt: null }),

    /** Fails the attempt: back to the queue when `retry` and attempts remain, otherwise failed for good. */
    async fail(
      id: string,
      holder: string,
      error: string,
      options: { retry?: boolean } = {},
    ): Promise<boolean> {
      const job = await db
        .selectFrom('jobs')
        .select(['attempts', 'maxAttempts'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!job) throw errors.notFound(`no such job: ${id}`);
      const again = options.retry === true && job.attempts < job.maxAttempts;
      return whileHeld(id, holder, {
        state: again ? 'queued' : 'failed',
        error,
        claimedBy: again ? null : holder,
        leaseExpiresAt: null,
      });
    },

    async get(id: string): Promise<Job | undefined> {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toJob(row);
    },

    async list(
      query: PageQuery & { machineId?: string; stackId?: string; state?: JobState; kind?: string },
    ): Promise<Page<Job>> {
      let q = db.selectFrom('jobs').selectAll();
      if (query.machineId) q = q.where('machineId', '=', query.machineId);
      if (query.stackId) q = q.where('stackId', '=', query.stackId);
      if (query.state) q = q.where('state', '=', query.state);
      if (query.kind) q = q.where('kind', '=', query.kind);
      return pageById(q, query, toJob);
    },
  };
}

export type JobsRepo = ReturnType<typeof jobsRepo>;
