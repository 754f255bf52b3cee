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
     * returns the unsubscribe. When a PostgreSQL LISTEN connection comes back after a drop
     * (a database restart), the events appended meanwhile are read and delivered then, once each.
     */
    async subscribe(
      listener: (event: JobEvent) => void,
      only: { machineId?: string; jobId?: string } = {},
    ): Promise<() => void> {
      let queue = Promise.resolve();
      let active = true;
      /** The highest seq handled, where a catch-up reads on from; and the recent ones, so none is delivered twice. */
      let last = 0;
      const handled = new Set<number>();
      const handle = (event: JobEvent) => {
        if (!active || handled.has(event.seq)) return;
        handled.add(event.seq);
        if (handled.size > 10_000) handled.delete(handled.values().next().value!);
        last = Math.max(last, event.seq);
        if (only.machineId && event.machineId !== only.machineId) return;
        if (only.jobId && event.jobId !== only.jobId) return;
        listener(event);
      };
      const then = (work: () => Promise<void>) => {
        queue = queue.then(work).catch(() => undefined);
      };
      const remove = await notifier.subscribe(CHANNEL, (payload) =>
        then(async () => {
          const event = await db
            .selectFrom('events')
            .selectAll()
            .where('seq', '=', Number(payload))
            .executeTakeFirst();
          if (event) handle(event);
        }),
      );
      const stopCatchUp = notifier.onRestored(() =>
        then(async () => {
          let q = db.selectFrom('events').selectAll().where('seq', '>', last);
          if (only.machineId) q = q.where('machineId', '=', only.machineId);
          if (only.jobId) q = q.where('jobId', '=', only.jobId);
          for (const event of await q.orderBy('seq').limit(10_000).execute()) handle(event);
        }),
      );
      const unsubscribe = () => {
        active = false;
        remove();
        stopCatchUp();
      };
      try {
        const newest = await db
          .selectFrom('events')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirst();
        last = Math.max(last, Number(newest?.seq ?? 0));
      } catch (err) {
        unsubscribe();
        throw err;
      }
      return unsubscribe;
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
