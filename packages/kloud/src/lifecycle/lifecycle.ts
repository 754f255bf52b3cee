/**
 * Machine lifecycle calls (build, start, stop, restart, destroy). A call is checked against
 * the state table, takes the machine's lease and is queued as a job in one transaction, then
 * returns its event id at once; the job runs here, renewing its lease, reporting progress,
 * and ends in the target state or back in the previous one with the reason kept.
 *
 * Crash safety: every job row names its holder and lease expiry. `recover()` takes over jobs
 * whose holder is gone and runs them again (every step is idempotent) or, past `maxAttempts`,
 * fails them cleanly: a build is rolled back, nothing is left in an in-progress state.
 */

import { KloudError, kloudErrors } from '../errors.js';
import { getMachine } from '../machines/machine.js';
import { ProviderError } from '../providers/errors.js';
import { type ActionContext, ActionFailure, actions, rollbackBuild } from './actions.js';
import type { LifecycleDeps } from './deps.js';
import type { ProgressEvent } from './events.js';
import {
  beginAction,
  ClaimLost,
  claimOrphans,
  finishJob,
  type JobRow,
  keepClaim,
  renewLease,
} from './jobstore.js';
import { type MachineAction, type MachineState, transitions } from './states.js';
import { insertEvent } from './transition.js';
import { unlessAborted, Wakeup } from './wakeup.js';

export interface ActionAccepted {
  eventId: string;
  machineId: string;
  action: MachineAction;
  state: MachineState;
}

/** How often `ended` looks at a job running elsewhere when no event woke it. */
const JOB_POLL_MS = 1_000;

export class Lifecycle {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private closed = false;

  constructor(private readonly deps: LifecycleDeps) {}

  /** Starts a call; resolves with its event id once the job is recorded (not when it ends). */
  async request(
    machineId: string,
    action: MachineAction,
    actorId: string | null,
    options: { parent?: string } = {},
  ): Promise<ActionAccepted> {
    if (this.closed) throw new KloudError('Unavailable', 'Kloud is shutting down; retry in a moment');
    const { job, event } = await beginAction(this.deps.store.conn, {
      machineId,
      action,
      actorId,
      holder: this.deps.holder,
      leaseMs: this.deps.settings.leaseMs,
      maxAttempts: this.deps.settings.maxAttempts,
      parent: options.parent,
    });
    this.deps.events.publish({ ...event, machineId });
    this.deps.log.info({ machineId, jobId: job.id, action, actorId }, 'lifecycle call accepted');
    this.launch(job);
    return { eventId: job.id, machineId, action, state: transitions[action].during };
  }

  /** Resolves when the job with this event id ends in this process (tests, stack apply). */
  async settled(eventId: string): Promise<void> {
    await this.running.get(eventId)?.done;
  }

  /**
   * Resolves with how the job ended, wherever it runs: here (at once when it ends), or in another
   * process sharing the store (woken by its events on PostgreSQL, with a bounded poll as the
   * fallback for a lost notification). Rejects with the signal's reason when aborted first.
   */
  async ended(eventId: string, signal: AbortSignal): Promise<'done' | 'failed'> {
    const { store } = this.deps;
    const wakeup = new Wakeup();
    const off =
      store.kind === 'postgres' ? await store.events.subscribe(wakeup.poke, { jobId: eventId }) : () => {};
    try {
      for (;;) {
        await unlessAborted(signal, this.settled(eventId));
        const row = await store.conn.db
          .selectFrom('jobs')
          .select('state')
          .where('id', '=', eventId)
          .executeTakeFirst();
        if (!row) throw kloudErrors.notFound(`no job ${eventId}`);
        if (row.state === 'done' || row.state === 'failed') return row.state;
        await wakeup.sleep(JOB_POLL_MS, signal);
      }
    } finally {
      off();
    }
  }

  /** Takes over jobs left by a dead holder. `all`: every running job (single-process SQLite, at start). */
  async recover(all: boolean): Promise<number> {
    const jobs = await claimOrphans(this.deps.store.conn, this.deps.holder, this.deps.settings.leaseMs, all);
    for (const job of jobs) {
      this.deps.log.warn(
        { jobId: job.id, machineId: job.machineId, attempts: job.attempts },
        'taking over an interrupted job',
      );
      const resume = job.attempts <= job.maxAttempts;
      await this.emit(job, {
        message: resume
          ? `Kloud restarted during ${job.payload.action}; resuming (attempt ${job.attempts} of ${job.maxAttempts})`
          : `Kloud restarted during ${job.payload.action} too many times; failing it cleanly`,
        percentage: 0,
        status: transitions[job.payload.action].during,
      });
      this.launch(job, !resume);
    }
    return jobs.length;
  }

  /** True when the job with this id runs in this process. */
  isRunningHere(eventId: string): boolean {
    return this.running.has(eventId);
  }

  /**
   * Fails a job running in this process (a build past its deadline): its next step throws,
   * and the normal failure path cleans up and restores the previous state with `reason`.
   */
  abort(eventId: string, reason: string): boolean {
    const r = this.running.get(eventId);
    if (!r) return false;
    r.abort.abort(new ActionFailure(reason));
    return true;
  }

  /** Stops running jobs without finishing them: their leases expire and recovery takes them over. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.running.values()) r.abort.abort(new ClaimLost('Kloud shutting down'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private launch(job: JobRow, failOnly = false): void {
    const abort = new AbortController();
    const done = this.execute(job, abort, failOnly).finally(() => this.running.delete(job.id));
    this.running.set(job.id, { abort, done });
  }

  private async emit(job: JobRow, event: Omit<ProgressEvent, 'eventId' | 'at'>): Promise<ProgressEvent> {
    const stored = await insertEvent(
      this.deps.store.conn.db,
      {
        ...event,
        eventId: job.id,
        at: Date.now(),
        jobId: job.id,
        machineId: job.machineId,
      },
      this.deps.store.conn.kind,
    );
    this.deps.events.publish({ ...stored, machineId: job.machineId });
    return stored;
  }

  private keepLease(job: JobRow, abort: AbortController): () => void {
    return keepClaim(this.deps.store.conn, job, this.deps.holder, this.deps.settings.leaseMs, {
      lost: () => abort.abort(new ClaimLost('claim lost: taken over, or not renewed within its lease')),
      error: (err) => this.deps.log.warn({ err, jobId: job.id }, 'lease renewal failed; will retry'),
    });
  }

  private async execute(job: JobRow, abort: AbortController, failOnly: boolean): Promise<void> {
    const stopRenewing = this.keepLease(job, abort);
    const action = job.payload.action;
    const during = transitions[action].during;
    let ctx: ActionContext | undefined;
    try {
      const machine = await getMachine(this.deps.store, job.machineId);
      const provider = this.deps.providers(machine.provider);
      ctx = {
        deps: this.deps,
        job,
        machine,
        provider,
        credential: await this.deps.credential(machine),
        signal: abort.signal,
        progress: async (message, percentage) => {
          if (abort.signal.aborted) throw abort.signal.reason;
          await this.emit(job, { message, percentage, status: during });
        },
      };
      if (failOnly) throw new ActionFailure(`interrupted ${job.attempts - 1} times by Kloud restarts`);
      await actions[action](ctx);
      const after = transitions[action].after;
      const done = await finishJob(this.deps.store.conn, job, {
        ok: true,
        state: after,
        reason: `${action} completed`,
        event: {
          eventId: job.id,
          message: `${action} completed`,
          percentage: 100,
          status: after,
          at: Date.now(),
        },
      });
      this.deps.events.publish({ ...done, machineId: job.machineId });
      this.deps.log.info({ machineId: job.machineId, jobId: job.id, action }, 'lifecycle call completed');
    } catch (err) {
      const lost =
        err instanceof ClaimLost
          ? err
          : abort.signal.aborted && abort.signal.reason instanceof ClaimLost
            ? abort.signal.reason
            : undefined;
      if (lost) {
        this.deps.log.warn({ jobId: job.id, reason: lost.message }, 'job stopped without finishing');
        return;
      }
      // An abort for a reason (deadline) fails the job with that reason, whatever step noticed it.
      await this.fail(job, ctx, abort.signal.aborted ? abort.signal.reason : err);
    } finally {
      stopRenewing();
    }
  }

  private async fail(job: JobRow, ctx: ActionContext | undefined, err: unknown): Promise<void> {
    const reason = describeFailure(err);
    if (!(err instanceof ActionFailure || err instanceof ProviderError || err instanceof KloudError))
      this.deps.log.error(
        { err, jobId: job.id, machineId: job.machineId },
        'lifecycle job failed unexpectedly',
      );
    let end: { state: MachineState; reason: string } = {
      state: job.payload.previousState,
      reason: `${job.payload.action} failed: ${reason}`,
    };
    if (ctx && job.payload.action === 'build') {
      // Never undo what another process may be building now: only while the job is still ours.
      const ours = await renewLease(
        this.deps.store.conn,
        job,
        this.deps.holder,
        this.deps.settings.leaseMs,
      ).catch(() => false);
      if (!ours) {
        this.deps.log.warn(
          { jobId: job.id, reason },
          'failed build not rolled back: its claim could not be confirmed; whoever takes it over resumes or fails it',
        );
        return;
      }
      end = await rollbackBuild(ctx, reason).catch((rollbackErr: unknown) => ({
        state: 'Unknown' as const,
        reason: `build failed: ${reason}; cleaning up also failed: ${describeFailure(rollbackErr)}; the reconciler will look`,
      }));
    }
    const event: ProgressEvent = {
      eventId: job.id,
      message: end.reason,
      percentage: 100,
      status: 'failed',
      error: reason,
      at: Date.now(),
    };
    let stored: ProgressEvent;
    try {
      stored = await finishJob(this.deps.store.conn, job, {
        ok: false,
        state: end.state,
        reason: end.reason,
        event,
      });
    } catch (finishErr) {
      if (finishErr instanceof ClaimLost) {
        this.deps.log.warn({ jobId: job.id }, 'failed job was taken over before its end was recorded');
        return;
      }
      // The lease expires and recovery finishes the job; never leave it silently.
      this.deps.log.error(
        { err: finishErr, jobId: job.id },
        'could not record a failed job; recovery will retry',
      );
      return;
    }
    this.deps.events.publish({ ...stored, machineId: job.machineId });
    this.deps.log.warn(
      { machineId: job.machineId, jobId: job.id, reason: end.reason, state: end.state },
      'lifecycle call failed',
    );
  }
}

/** A reason safe to store and show: our own errors' messages; anything else stays in the log. */
export function describeFailure(err: unknown): string {
  if (err instanceof ActionFailure || err instanceof ProviderError || err instanceof KloudError)
    return err.message;
  if (err instanceof Error && err.name === 'RpcError') return err.message;
  return 'internal error; see the Kloud log';
}
