/**
 * Stacks as callers see them (plan, apply, destroy, describe), one implementation behind the
 * REST API and the RPC methods. `apply` and `destroy` answer an event id at once; the plan is
 * carried out in the background by runner.ts, as a stack job this process holds a lease on.
 * A stack job whose Kloud died is taken over by `recover` (another process once the lease
 * lapsed, or the next start of a single-process SQLite Kloud) and resumed where it was, or
 * failed cleanly past its attempts.
 */
import { randomUUID } from 'node:crypto';
import type { Viewer } from '@kk/backend/access/viewer.js';
import { BackendError } from '@kk/backend/errors.js';
import { kloudErrors } from '../errors.js';
import { ClaimLost, claimLapsed, keepClaim } from '../lifecycle/jobstore.js';
import { machineAccess } from '../machines/access.js';
import { getMachine, specOf } from '../machines/machine.js';
import { toInfo } from '../machines/service.js';
import { type CurrentMachine, type Plan, type PlanAction, planStack } from './plan.js';
import { type DesiredMachine, resolveStack } from './resolve.js';
import { PlanRunner, type StackServiceDeps } from './runner.js';
import { type StackJob, type StackJobKind, startStackJob, toStackJob } from './stack-jobs.js';
import { parseTemplate } from './template.js';

export interface StackInputsParams {
  stackId: string;
  variables?: Record<string, string | number | boolean>;
  credentials?: Record<string, string>;
}

export class StackService {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  private closed = false;
  private readonly runner: PlanRunner;

  constructor(private readonly deps: StackServiceDeps) {
    this.runner = new PlanRunner(deps);
  }

  private async stackOf(viewer: Viewer, stackId: string) {
    const stack = await this.deps.store.stacks.get(stackId);
    if (!stack || (stack.ownerId !== viewer.id && !viewer.isAdmin))
      throw kloudErrors.notFound(`no stack ${stackId}`);
    return stack;
  }

  private async current(stackId: string): Promise<CurrentMachine[]> {
    const rows = await this.deps.store.conn.db
      .selectFrom('machines')
      .select('id')
      .where('stackId', '=', stackId)
      .execute();
    const out: CurrentMachine[] = [];
    for (const { id } of rows) {
      const m = await getMachine(this.deps.store, id);
      const name = typeof m.meta.stackMachine === 'string' ? m.meta.stackMachine : m.label;
      out.push({ name, machineId: m.id, state: m.status.state, spec: specOf(m) });
    }
    return out;
  }

  /** Resolves the stack's template with its inputs: explicit values, then the stack's config, then defaults. */
  private async desired(
    viewer: Viewer,
    params: StackInputsParams,
  ): Promise<{ desired: DesiredMachine[]; stack: Awaited<ReturnType<StackService['stackOf']>> }> {
    const stack = await this.stackOf(viewer, params.stackId);
    if (!stack.templateId) throw kloudErrors.invalid(`stack ${stack.id} has no template`);
    const row = await this.deps.store.templates.get(stack.templateId);
    if (!row) throw kloudErrors.notFound(`stack ${stack.id}'s template ${stack.templateId} is gone`);
    const template = parseTemplate(row.content);
    const variables: Record<string, string | number | boolean> = {};
    for (const [name, v] of Object.entries(template.variables)) {
      const fromConfig = stack.config[name];
      if (fromConfig !== undefined)
        variables[name] =
          v.type === 'number'
            ? Number(fromConfig)
            : v.type === 'boolean'
              ? fromConfig === 'true'
              : fromConfig;
    }
    const provisioners: Record<string, string> = {};
    for (const m of Object.values(template.machines))
      for (const p of m.provisioners)
        if (typeof p === 'string') {
          const stored = await this.deps.store.provisioners.bySlug(p);
          if (stored && (stored.ownerId === viewer.id || stored.accessLevel === 'public' || viewer.isAdmin))
            provisioners[p] = stored.content;
        }
    for (const [name, credentialId] of Object.entries(params.credentials ?? {})) {
      const access = await this.deps.store.credentials.accessOf(viewer, credentialId);
      if (!access)
        throw kloudErrors.problems([
          { path: `credentials.${name}`, message: `no credential ${credentialId} you may use` },
        ]);
    }
    const desired = resolveStack(template, {
      variables: { ...variables, ...params.variables },
      credentials: params.credentials,
      provisioners,
      stackName: stack.title,
    });
    return { desired, stack };
  }

  async plan(viewer: Viewer, params: StackInputsParams): Promise<Plan> {
    const { desired } = await this.desired(viewer, params);
    return planStack(desired, await this.current(params.stackId));
  }

  async apply(
    viewer: Viewer,
    params: StackInputsParams,
  ): Promise<{ eventId: string; actions: PlanAction[] }> {
    const { desired, stack } = await this.desired(viewer, params);
    const plan = planStack(desired, await this.current(params.stackId));
    if (plan.blocked) {
      const busy = plan.actions.filter((a) => a.action === 'blocked').map((a) => a.machine);
      throw kloudErrors.conflict(`machines ${busy.join(', ')} are busy; apply again when their jobs end`, {
        machines: busy,
      });
    }
    const job = await this.begin(
      viewer,
      'stack.apply',
      { id: params.stackId, templateId: stack.templateId },
      plan,
    );
    return { eventId: job.id, actions: plan.actions };
  }

  async destroy(viewer: Viewer, stackId: string): Promise<{ eventId: string }> {
    await this.stackOf(viewer, stackId);
    const current = await this.current(stackId);
    const plan = planStack([], current);
    if (plan.blocked)
      throw kloudErrors.conflict('some machines of the stack are busy; destroy again when their jobs end');
    const job = await this.begin(viewer, 'stack.destroy', { id: stackId, templateId: null }, plan);
    return { eventId: job.id };
  }

  async describe(viewer: Viewer, stackId: string) {
    const stack = await this.stackOf(viewer, stackId);
    const machines = [];
    for (const c of await this.current(stackId)) {
      const m = await getMachine(this.deps.store, c.machineId);
      machines.push({
        ...toInfo(m, machineAccess(viewer, m) ?? 'owner', this.deps.agents.online(m)),
        name: c.name,
      });
    }
    return { stackId: stack.id, title: stack.title, templateId: stack.templateId, machines };
  }

  private async begin(
    viewer: Viewer,
    kind: StackJobKind,
    stack: { id: string; templateId: string | null },
    plan: Plan,
  ): Promise<StackJob> {
    if (this.closed) throw kloudErrors.unavailable('Kloud is shutting down; retry in a moment');
    const job = await startStackJob(this.deps.store.conn, {
      id: randomUUID(),
      kind,
      holder: this.deps.holder,
      leaseMs: this.deps.leaseMs,
      maxAttempts: this.deps.maxAttempts,
      payload: { actorId: viewer.id, stack, plan, steps: {} },
    });
    this.launch(job, viewer);
    return job;
  }

  /**
   * Takes over stack jobs whose holder is gone (`all`: every running one not ours, for a
   * single-process SQLite Kloud at start; else those whose lease lapsed) and resumes each, or
   * fails it with a final event past its attempts.
   */
  async recover(all: boolean): Promise<number> {
    if (this.closed) return 0;
    const rows = await claimLapsed(this.deps.store.conn, this.deps.holder, this.deps.leaseMs, {
      all,
      family: 'stack',
    });
    for (const row of rows) {
      const job = toStackJob(row);
      const viewer = job.resumable
        ? await this.deps.store.viewer(job.payload.actorId).catch((err: unknown) => {
            // A user deleted since; anything else (the database away) is retried at the next sweep.
            if (err instanceof BackendError && err.code === 'not_found') return undefined;
            throw err;
          })
        : undefined;
      const why = !job.resumable
        ? 'it was started by an older Kloud that did not record its plan'
        : !viewer
          ? 'the user who asked for it no longer exists'
          : job.attempts > job.maxAttempts
            ? `its Kloud stopped ${job.attempts - 1} times`
            : undefined;
      this.deps.log.warn(
        { jobId: job.id, attempts: job.attempts, why },
        'taking over an interrupted stack job',
      );
      const run = { job, writes: Promise.resolve() as Promise<unknown> };
      try {
        if (why || !viewer) {
          const error = `the Kloud running this stack job stopped and it cannot be resumed: ${why}; apply (or destroy) the stack again to finish it`;
          await this.runner.emit(run, { message: error, status: 'failed', error }, { end: { error } });
          continue;
        }
        await this.runner.emit(run, {
          message: `the Kloud running this stack job stopped; resuming (attempt ${job.attempts} of ${job.maxAttempts})`,
          status: 'running',
        });
        this.launch(job, viewer);
      } catch (err) {
        if (!(err instanceof ClaimLost)) throw err;
      }
    }
    return rows.length;
  }

  private launch(job: StackJob, viewer: Viewer): void {
    const abort = new AbortController();
    const stackId = job.payload.stack.id;
    const stopRenewing = keepClaim(
      this.deps.store.conn,
      { id: job.id, machineId: '' },
      this.deps.holder,
      this.deps.leaseMs,
      {
        lost: () => abort.abort(new ClaimLost('claim lost: taken over, or not renewed within its lease')),
        error: (err) =>
          this.deps.log.warn({ err, jobId: job.id }, 'stack job lease renewal failed; will retry'),
      },
    );
    const done = this.runner
      .run(job, viewer, abort.signal)
      .catch(async (err: unknown) => {
        if (err instanceof ClaimLost || abort.signal.aborted) {
          this.deps.log.warn(
            { jobId: job.id, stackId, reason: String(err) },
            'stack job stopped without finishing',
          );
          return;
        }
        this.deps.log.error({ err, stackId }, 'stack job failed unexpectedly');
        const error = 'internal error; see the Kloud log';
        await this.runner
          .emit(
            { job, writes: Promise.resolve() },
            { message: 'stack job failed', status: 'failed', error },
            { end: { error } },
          )
          .catch((endErr: unknown) =>
            this.deps.log.error(
              { err: endErr, jobId: job.id },
              'could not record a failed stack job; its lease will lapse',
            ),
          );
      })
      .finally(() => {
        stopRenewing();
        this.running.delete(job.id);
      });
    this.running.set(job.id, { abort, done });
  }

  /** Resolves when the stack job with this event id has ended in this process (tests, benchmarks). */
  async settled(eventId: string): Promise<void> {
    await this.running.get(eventId)?.done;
  }

  /** Stops running stack jobs without finishing them: their leases lapse and another process (or the next start) resumes them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.running.values()) r.abort.abort(new ClaimLost('Kloud shutting down'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
