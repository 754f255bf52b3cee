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
