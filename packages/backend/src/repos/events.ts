/**
 * Progress events of jobs (Koding's eventer): kept so a late or polling client can read what a
 * subscriber saw live. `seq` orders them; read on with `after`.
 */
import type { Db } from '../store/db.js';

export interface JobEvent {
  seq: number;
  /** The id a lifecycle call returned to its caller. */
  eventId: string;
  jobId: string | null;
  machineId: string | null;
  message: string;
  percentage: number | null;
  /** The machine state or job state the event reports. */
  status: string;
  error: string | null;
  at: number;
}

export type NewJobEvent = Omit<JobEvent, 'seq' | 'at' | 'jobId' | 'machineId' | 'percentage' | 'error'> &
  Partial<Pick<JobEvent, 'jobId' | 'machineId' | 'percentage' | 'error'>>;

export interface EventFilter {
  eventId?: string;
  jobId?: string;
  machineId?: string;
  /** Only events with a greater seq. */
  after?: number;
  limit: number;
}

export function eventsRepo(db: Db) {
  return {
    async append(event: NewJobEvent): Promise<JobEvent> {
      const values = {
        eventId: event.eventId,
        jobId: event.jobId ?? null,
        machineId: event.machineId ?? null,
        message: event.message,
        percentage: event.percentage ?? null,
        status: event.status,
        error: event.error ?? null,
        at: Date.now(),
      };
      const row = await db.insertInto('events').values(values).returning('seq').executeTakeFirstOrThrow();
      return { ...values, seq: Number(row.seq) };
    },

    /** Oldest first. At least one of eventId, jobId or machineId narrows it in the API. */
    async list(filter: EventFilter): Promise<JobEvent[]> {
      let q = db.selectFrom('events').selectAll();
      if (filter.eventId) q = q.where('eventId', '=', filter.eventId);
      if (filter.jobId) q = q.where('jobId', '=', filter.jobId);
      if (filter.machineId) q = q.where('machineId', '=', filter.machineId);
      if (filter.after !== undefined) q = q.where('seq', '>', filter.after);
      return q.orderBy('seq').limit(filter.limit).execute();
    },
  };
}

export type EventsRepo = ReturnType<typeof eventsRepo>;
