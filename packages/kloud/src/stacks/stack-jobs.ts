/**
 * A stack apply or destroy as a job row (kind `stack.apply` / `stack.destroy`): its events are
 * found through it (event id = job id). Like a lifecycle job it is claimed by one Kloud process
 * for a lease it renews; a process that dies lets the lease lapse and another takes the job over
 * (`claimLapsed`) and resumes it from what the row records: the plan, who asked, and how far
 * each machine's step got. A step's progress and its event are written in one transaction, by
 * the claim's holder only, so the event log of a resumed job has every step once and in order.
 */
import type { Connection } from '@kk/backend/store/db.js';
import type { JobsTable } from '@kk/backend/store/schema.js';
import type { ProgressEvent } from '../lifecycle/events.js';
import { ClaimLost } from '../lifecycle/jobstore.js';
import { insertEvent } from '../lifecycle/transition.js';
import type { Plan } from './plan.js';

export type StackJobKind = 'stack.apply' | 'stack.destroy';

export interface StackRef {
  id: string;
  templateId: string | null;
}

/** How far one machine's step got. */
export type StepRecord = { status: 'started' } | { status: 'done' } | { status: 'failed'; error: string };

/** What a stack job row carries in `payload`: enough for another process to resume it. */
export interface StackJobPayload {
  actorId: string;
  stack: StackRef;
  plan: Plan;
  /** By machine name (the plan's `machine`). */
  steps: Record<string, StepRecord>;
}

export interface StackJob {
  id: string;
  kind: StackJobKind;
  payload: StackJobPayload;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  /** False for a row written before stack jobs recorded their plan: it can only be failed. */
  resumable: boolean;
}

export async function startStackJob(
  conn: Connection,
  input: {
    id: string;
    kind: StackJobKind;
    holder: string;
    leaseMs: number;
    maxAttempts: number;
    payload: StackJobPayload;
  },
): Promise<StackJob> {
  const now = Date.now();
  await conn.db
    .insertInto('jobs')
    .values({
      id: input.id,
      kind: input.kind,
      machineId: null,
      stackId: input.payload.stack.id,
      state: 'running',
      claimedBy: input.holder,
      leaseExpiresAt: now + input.leaseMs,
      attempts: 1,
      maxAttempts: input.maxAttempts,
      payload: JSON.stringify(input.payload),
      result: null,
      error: null,
      createdAt: now,
      updatedAt: now,
    })
    .execute();
  return {
    id: input.id,
    kind: input.kind,
    payload: input.payload,
    attempts: 1,
    maxAttempts: input.maxAttempts,
    createdAt: now,
    resumable: true,
  };
}

/** How far the job got: its machine steps done, out of those with something to do. */
export function percentDone(payload: StackJobPayload): number {
  const total = payload.plan.actions.filter((a) => a.action !== 'none').length || 1;
  const done = Object.values(payload.steps).filter((s) => s.status === 'done').length;
  return Math.floor((100 * done) / total);
}

/** A claimed row as a stack job. */
export function toStackJob(row: JobsTable): StackJob {
  const payload = JSON.parse(row.payload) as Partial<StackJobPayload>;
  return {
    id: row.id,
    kind: row.kind as StackJobKind,
    payload: { steps: {}, ...payload } as StackJobPayload,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.maxAttempts),
    createdAt: Number(row.createdAt),
    resumable: Boolean(payload.plan && payload.stack && payload.actorId),
  };
}

/**
 * Records the job's progress (its payload as it is now) and an event, in one transaction, only
 * while `holder` still holds the job; throws ClaimLost otherwise. With `end`, the job ends
 * too (`done`, or `failed` with the error).
 */
export async function recordStackProgress(
  conn: Connection,
  job: StackJob,
  holder: string,
  event: ProgressEvent,
  end?: { error: string | undefined },
): Promise<ProgressEvent> {
  return conn.write(async (trx) => {
    const res = await trx
      .updateTable('jobs')
      .set({
        payload: JSON.stringify(job.payload),
        updatedAt: Date.now(),
        ...(end
          ? { state: end.error ? 'failed' : 'done', error: end.error ?? null, leaseExpiresAt: null }
          : {}),
      })
      .where('id', '=', job.id)
      .where('claimedBy', '=', holder)
      .where('state', '=', 'running')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1)
      throw new ClaimLost(`stack job ${job.id} was taken over by another Kloud process`);
    return insertEvent(trx, { ...event, jobId: job.id }, conn.kind);
  });
}
