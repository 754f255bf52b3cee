/**
 * A stack apply or destroy as a job row (kind `stack.apply` / `stack.destroy`): its events are
 * found through it (event id = job id), and its end is recorded. It holds no lease: each machine
 * step is its own lifecycle job.
 */
import type { Db } from '@kk/backend/store/db.js';

export async function startStackJob(
  db: Db,
  input: { id: string; kind: 'stack.apply' | 'stack.destroy'; stackId: string; holder: string },
) {
  const now = Date.now();
  await db
    .insertInto('jobs')
    .values({
      id: input.id,
      kind: input.kind,
      machineId: null,
      stackId: input.stackId,
      state: 'running',
      claimedBy: input.holder,
      leaseExpiresAt: null,
      attempts: 1,
      maxAttempts: 1,
      payload: '{}',
      result: null,
      error: null,
      createdAt: now,
      updatedAt: now,
    })
    .execute();
}

export async function endStackJob(db: Db, id: string, error: string | undefined): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ state: error ? 'failed' : 'done', error: error ?? null, updatedAt: Date.now() })
    .where('id', '=', id)
    .execute();
}

/**
 * At the start of a single-process (SQLite) Kloud: stack jobs its previous process left running
 * are ended as failed, with a final event, so no one waits on them. Their machine jobs are
 * recovered by the lifecycle; applying the stack again finishes what is left.
 */
export async function endInterruptedStackJobs(db: Db, holder: string): Promise<number> {
  const rows = await db
    .selectFrom('jobs')
    .select(['id'])
    .where('state', '=', 'running')
    .where('kind', 'like', 'stack.%')
    .where('claimedBy', 'is distinct from', holder)
    .execute();
  const error = 'Kloud restarted during this stack job; apply (or destroy) the stack again to finish it';
  for (const { id } of rows) {
    await endStackJob(db, id, error);
    await db
      .insertInto('events')
      .values({
        eventId: id,
        jobId: id,
        machineId: null,
        message: error,
        percentage: 100,
        status: 'failed',
        error,
        at: Date.now(),
      })
      .execute();
  }
  return rows.length;
}
