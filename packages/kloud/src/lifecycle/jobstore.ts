/**
 * The database side of a lifecycle call: the per-machine lease, the job row, the state
 * transition and its events, each change in one write transaction so a crash leaves either
 * the old state or the new one, never half of each.
 *
 * A lease row (`machine_leases`) names its holder (a Kloud process) and expires; the holder
 * renews it while the job runs. A lease whose holder died expires and recovery takes it over.
 */
import { randomUUID } from 'node:crypto';
import { leasesRepo } from '@kk/backend/repos/leases.js';
import type { Connection, Db } from '@kk/backend/store/db.js';
import type { JobsTable } from '@kk/backend/store/schema.js';
import { kloudErrors } from '../errors.js';
import type { ProgressEvent } from './events.js';
import {
  allowedActions,
  isAllowed,
  isMachineState,
  type MachineAction,
  type MachineState,
  transitions,
} from './states.js';
import { insertEvent, setState } from './transition.js';

/** What a job row carries in `payload`, enough to resume or roll back after a crash. */
export interface JobPayload {
  action: MachineAction;
  previousState: MachineState;
  actorId: string | null;
  /** Set once the provider created an instance, so a crashed build can find what it made. */
  instanceId?: string;
  kiteId?: string;
  /** Which step the job reached (for logs and resume decisions). */
  step?: string;
  /** The stack step that asked for this call (`<stack job id>/<step>`): a resumed stack job finds it by this. */
  parent?: string;
}

export interface JobRow {
  id: string;
  machineId: string;
  payload: JobPayload;
  attempts: number;
  maxAttempts: number;
  claimedBy: string | null;
  state: JobsTable['state'];
}

function toJob(row: JobsTable): JobRow {
  return {
    id: row.id,
    machineId: row.machineId ?? '',
    payload: JSON.parse(row.payload) as JobPayload,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.maxAttempts),
    claimedBy: row.claimedBy,
    state: row.state,
  };
}

export interface BeginResult {
  job: JobRow;
  event: ProgressEvent;
}

/**
 * Checks the call is allowed in the machine's state, takes its lease, moves it to the
 * in-progress state and queues the job: all or nothing. Refuses with InvalidState (naming the
 * state and the allowed calls) or Conflict (another job holds the lease).
 */
export async function beginAction(
  conn: Connection,
  input: {
    machineId: string;
    action: MachineAction;
    actorId: string | null;
    holder: string;
    leaseMs: number;
    maxAttempts: number;
    parent?: string;
  },
): Promise<BeginResult> {
  return conn.write(async (trx) => {
    const row = await trx
      .selectFrom('machines')
      .select(['id', 'state', 'stackId'])
      .where('id', '=', input.machineId)
      .executeTakeFirst();
    if (!row) throw kloudErrors.notFound(`no machine ${input.machineId}`, { machineId: input.machineId });
    const machine = { ...row, state: isMachineState(row.state) ? row.state : ('Unknown' as const) };
    const now = Date.now();
    const jobId = randomUUID();
    if (!isAllowed(machine.state, input.action)) {
      const allowed = allowedActions(machine.state);
      throw kloudErrors.invalidState(
        `cannot ${input.action} machine ${machine.id}: it is ${machine.state}; allowed: ${allowed.length ? allowed.join(', ') : 'none until the current job ends'}`,
        { machineId: machine.id, state: machine.state, action: input.action, allowed: [...allowed] },
      );
    }
    // The lease holder is the job: one job per machine at a time, whichever process runs it.
    if (!(await leasesRepo(trx).acquire(machine.id, jobId, input.leaseMs))) {
      throw kloudErrors.conflict(
        `machine ${machine.id} is busy: another call holds its lease; retry when it ends`,
        {
          machineId: machine.id,
          state: machine.state,
        },
      );
    }
    const payload: JobPayload = {
      action: input.action,
      previousState: machine.state,
      actorId: input.actorId,
      ...(input.parent ? { parent: input.parent } : {}),
    };
    const expiresAt = now + input.leaseMs;
    const job: JobsTable = {
      id: jobId,
      kind: `machine.${input.action}`,
      machineId: machine.id,
      stackId: machine.stackId,
      state: 'running',
      claimedBy: input.holder,
      leaseExpiresAt: expiresAt,
      attempts: 1,
      maxAttempts: input.maxAttempts,
      payload: JSON.stringify(payload),
      result: null,
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    await trx.insertInto('jobs').values(job).execute();
    const during = transitions[input.action].during;
    await setState(
      trx,
      machine.id,
      {
        from: machine.state,
        state: during,
        reason: `${input.action} requested`,
        actorId: input.actorId,
        jobId,
      },
      now,
    );
    const event = await insertEvent(
      trx,
      {
        eventId: jobId,
        message: `${input.action} started (${machine.state} → ${during})`,
        percentage: 0,
        status: during,
        at: now,
        jobId,
        machineId: machine.id,
      },
      conn.kind,
    );
    return { job: toJob(job), event };
  });
}

/**
 * Extends the claim of a job this process holds (and its machine's lease, for a machine job);
 * false when the claim was lost (taken over after it lapsed).
 */
export async function renewLease(
  conn: Connection,
  job: Pick<JobRow, 'id' | 'machineId'>,
  holder: string,
  leaseMs: number,
): Promise<boolean> {
  return conn.write(async (trx) => {
    const expiresAt = Date.now() + leaseMs;
    const res = await trx
      .updateTable('jobs')
      .set({ leaseExpiresAt: expiresAt, updatedAt: Date.now() })
      .where('id', '=', job.id)
      .where('claimedBy', '=', holder)
      .where('state', '=', 'running')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    return job.machineId ? leasesRepo(trx).renew(job.machineId, job.id, leaseMs) : true;
  });
}

/**
 * Renews a running job's claim every third of its lease until the returned function is called.
 * `lost` is told (at most once) when the claim was taken over, or when no renewal succeeded for
 * nearly a lease (the database was out of reach or this process stalled): by then another
 * process may have taken the job over, so the job must stop without finishing.
 */
export function keepClaim(
  conn: Connection,
  job: Pick<JobRow, 'id' | 'machineId'>,
  holder: string,
  leaseMs: number,
  on: { lost(): void; error(err: unknown): void },
): () => void {
  // Counted from when a renewal was sent, less a margin: the database's expiry is no earlier.
  const margin = Math.min(1_000, Math.floor(leaseMs / 10));
  let stopped = false;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(deadline);
  };
  const lose = () => {
    if (stopped) return;
    stop();
    on.lost();
  };
  const heldFrom = (sent: number) => {
    clearTimeout(deadline);
    deadline = setTimeout(lose, Math.max(0, sent + leaseMs - margin - Date.now()));
    deadline.unref();
  };
  timer = setInterval(
    () => {
      const sent = Date.now();
      renewLease(conn, job, holder, leaseMs).then((ok) => {
        if (stopped) return;
        if (ok) heldFrom(sent);
        else lose();
      }, on.error);
    },
    Math.max(50, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  heldFrom(Date.now());
  return stop;
}

/**
 * The job's claim went to another process (it lapsed: this process was stalled, or cut off from
 * the database, past its lease): this process must stop the job without writing its outcome.
 */
export class ClaimLost extends Error {
  override readonly name = 'ClaimLost';
}

/** Persists progress facts (instance id, step) so a crashed job can be resumed or undone; only while the job is ours. */
export async function saveProgress(db: Db, job: JobRow): Promise<void> {
  const res = await db
    .updateTable('jobs')
    .set({ payload: JSON.stringify(job.payload), updatedAt: Date.now() })
    .where('id', '=', job.id)
    .where('claimedBy', '=', job.claimedBy)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) throw new ClaimLost(`job ${job.id} was taken over`);
}

/**
 * Ends a job: the machine reaches `state` (the target on success, the previous state on
 * failure, with the reason kept), the lease is released, the final event recorded — only while
 * the job is still this holder's (`job.claimedBy`); otherwise nothing changes and ClaimLost is
 * thrown.
 */
export async function finishJob(
  conn: Connection,
  job: JobRow,
  outcome: { ok: boolean; state: MachineState; reason: string; event: ProgressEvent },
): Promise<ProgressEvent> {
  return conn.write(async (trx) => {
    const now = Date.now();
    const res = await trx
      .updateTable('jobs')
      .set({
        state: outcome.ok ? 'done' : 'failed',
        error: outcome.ok ? null : outcome.reason,
        result: outcome.ok ? JSON.stringify({ state: outcome.state }) : null,
        payload: JSON.stringify(job.payload),
        leaseExpiresAt: null,
        updatedAt: now,
      })
      .where('id', '=', job.id)
      .where('claimedBy', '=', job.claimedBy)
      .where('state', '=', 'running')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new ClaimLost(`job ${job.id} was taken over`);
    const before = await trx
      .selectFrom('machines')
      .select('state')
      .where('id', '=', job.machineId)
      .executeTakeFirst();
    await setState(
      trx,
      job.machineId,
      {
        from: (before?.state ?? 'Unknown') as MachineState,
        state: outcome.state,
        reason: outcome.reason,
        actorId: job.payload.actorId,
        jobId: job.id,
      },
      now,
    );
    await leasesRepo(trx).release(job.machineId, job.id);
    return insertEvent(trx, { ...outcome.event, jobId: job.id, machineId: job.machineId }, conn.kind);
  });
}

/**
 * Takes over running jobs of one family (`machine.` or `stack.` kinds) whose holder is gone:
 * their lease expired, or (`all`, for a single-process SQLite Kloud at start) every running job
 * not held by `holder`. Each is claimed with a compare-and-set so two recovering processes never
 * both take one; the rows come back as claimed (attempts counted, holder = `holder`).
 */
export async function claimLapsed(
  conn: Connection,
  holder: string,
  leaseMs: number,
  options: { all: boolean; family: 'machine' | 'stack' },
): Promise<JobsTable[]> {
  const now = Date.now();
  let q = conn.db
    .selectFrom('jobs')
    .selectAll()
    .where('state', '=', 'running')
    .where('kind', 'like', `${options.family}.%`);
  q = options.all ? q.where('claimedBy', 'is distinct from', holder) : q.where('leaseExpiresAt', '<', now);
  const candidates = await q.execute();
  const claimed: JobsTable[] = [];
  for (const row of candidates) {
    const attempts = Number(row.attempts) + 1;
    const ok = await conn.write(async (trx) => {
      const res = await trx
        .updateTable('jobs')
        .set({ claimedBy: holder, leaseExpiresAt: now + leaseMs, attempts, updatedAt: now })
        .where('id', '=', row.id)
        .where('state', '=', 'running')
        .where('claimedBy', 'is not distinct from', row.claimedBy)
        .where('updatedAt', '=', row.updatedAt)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      // A machine job keeps its lease (holder = job id); only its expiry moves.
      if (row.machineId) await leasesRepo(trx).acquire(row.machineId, row.id, leaseMs);
      return true;
    });
    if (ok)
      claimed.push({ ...row, attempts, claimedBy: holder, leaseExpiresAt: now + leaseMs, updatedAt: now });
  }
  return claimed;
}

/** Takes over lifecycle jobs whose holder is gone (see claimLapsed). */
export async function claimOrphans(
  conn: Connection,
  holder: string,
  leaseMs: number,
  all: boolean,
): Promise<JobRow[]> {
  return (await claimLapsed(conn, holder, leaseMs, { all, family: 'machine' })).map(toJob);
}
