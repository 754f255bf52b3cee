/**
 * The two writes every lifecycle step makes inside its transaction: a machine's state change
 * (with its audit entry) and a progress event (announced to other Kloud processes on
 * PostgreSQL). Both take the caller's transaction, so a change and its record commit together.
 */
import { auditRepo } from '@kk/backend/repos/audit.js';
import type { Connection, Db } from '@kk/backend/store/db.js';
import { sql } from 'kysely';
import type { ProgressEvent } from './events.js';
import type { MachineState } from './states.js';

/** The backend's events channel (`repos/events.ts`): its `events.subscribe` wakes on it. */
const EVENTS_CHANNEL = 'kk_events';

/**
 * Stores a progress event inside the caller's transaction, so a state change and its event
 * commit together. Live subscribers hear of it from the lifecycle's EventBus after the commit.
 */
export async function insertEvent(
  db: Db,
  event: ProgressEvent & { jobId?: string; machineId?: string },
  kind: Connection['kind'],
): Promise<ProgressEvent> {
  const at = Date.now();
  const row = await db
    .insertInto('events')
    .values({
      eventId: event.eventId,
      jobId: event.jobId ?? null,
      machineId: event.machineId ?? null,
      message: event.message,
      percentage: event.percentage,
      status: event.status,
      error: event.error ?? null,
      at,
    })
    .returning('seq')
    .executeTakeFirstOrThrow();
  // Other Kloud processes on the same PostgreSQL hear of it through the backend's event channel
  // (delivered at commit); one SQLite process has only its own EventBus.
  if (kind === 'postgres') await sql`select pg_notify(${EVENTS_CHANNEL}, ${String(row.seq)})`.execute(db);
  return { ...event, at, seq: Number(row.seq) };
}

/** Sets a machine's state and writes the transition to the audit log, in the caller's transaction. */
export async function setState(
  db: Db,
  machineId: string,
  change: { from: MachineState; state: MachineState; reason: string; actorId: string | null; jobId: string },
  at = Date.now(),
) {
  await db
    .updateTable('machines')
    .set((eb) => ({
      state: change.state,
      stateReason: change.reason,
      stateModifiedAt: at,
      updatedAt: at,
      version: eb('version', '+', 1),
    }))
    .where('id', '=', machineId)
    .execute();
  await auditRepo(db).record(db, {
    actorId: change.actorId,
    action: 'machine.status',
    resourceType: 'machine',
    resourceId: machineId,
    details: { from: change.from, state: change.state, reason: change.reason, jobId: change.jobId },
  });
}
