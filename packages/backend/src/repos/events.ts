/**
 * Progress events of jobs (Koding's eventer): kept so a late or polling client can read what a
 * subscriber saw live, and announced to subscribers in every process that shares the store
 * (PostgreSQL NOTIFY; in memory for SQLite). `seq` orders them; read on with `after`.
 */
import type { Db } from '../store/db.js';
import type { Notifier } from '../store/notify.js';

const CHANNEL = 'kk_events';

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

export function eventsRepo(db: Db, notifier: Notifier) {
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
      await notifier.publish(CHANNEL, String(row.seq));
      return { ...values, seq: Number(row.seq) };
    },

    /**
     * Calls `listener` with each event appended from now on by any process (optionally only a
     * machine's or a job's), in the order the notifications arrive. Resolves once listening;
     * returns the unsubscribe. Notifications are lost while a PostgreSQL LISTEN connection is
     * being re-established: a listener that must see everything reads on with `list({after})`.
     */
    async subscribe(
      listener: (event: JobEvent) => void,
      only: { machineId?: string; jobId?: string } = {},
    ): Promise<() => void> {
      let queue = Promise.resolve();
      let active = true;
      const remove = await notifier.subscribe(CHANNEL, (payload) => {
        queue = queue
          .then(async () => {
            const event = await db
              .selectFrom('events')
              .selectAll()
              .where('seq', '=', Number(payload))
              .executeTakeFirst();
            if (!active || !event) return;
            if (only.machineId && event.machineId !== only.machineId) return;
            if (only.jobId && event.jobId !== only.jobId) return;
            listener(event);
          })
          .catch(() => undefined);
      });
      return () => {
        active = false;
        remove();
      };
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
