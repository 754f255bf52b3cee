/**
 * Carries out a stack plan in the background: destroys first (dependents before what they
 * depend on), then creates, builds, replaces and reprovisions in dependency order, independent
 * machines in parallel; a failed machine's dependents are skipped and named in the final event.
 * Every machine step is an ordinary lifecycle call (lease, job, events, crash recovery); a create
 * takes a ready machine from the template's warm pool when one matches.
 *
 * A run may be a resumption by another process (stack-jobs.ts): steps recorded done are not
 * run again, a step that was under way finds what it did — the machine it created (by its name
 * in the stack) and the lifecycle calls it asked for (by their `parent`) — and waits for those
 * instead of asking again.
 */
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Store } from '@kk/backend/store/store.js';
import type { Logger } from 'pino';
import { kloudErrors } from '../errors.js';
import type { WarmPool } from '../jobs/warm-pool.js';
import type { EventBus } from '../lifecycle/events.js';
import { ClaimLost, type JobPayload } from '../lifecycle/jobstore.js';
import { describeFailure, type Lifecycle } from '../lifecycle/lifecycle.js';
import type { MachineAction } from '../lifecycle/states.js';
import { getMachine, specOf } from '../machines/machine.js';
import type { Agents } from '../registry/agents.js';
import type { PlanAction } from './plan.js';
import type { DesiredMachine } from './resolve.js';
import { runInOrder } from './schedule.js';
import { percentDone, recordStackProgress, type StackJob, type StepRecord } from './stack-jobs.js';

export interface StackServiceDeps {
  store: Store;
  lifecycle: Lifecycle;
  /** Klients wherever they are linked (provisioners of a reprovision, `online` in describe). */
  agents: Agents;
  events: EventBus;
  log: Logger;
  provisionTimeoutMs: number;
  holder: string;
  /** A stack job's claim lapses this long after its holder stops renewing it. */
  leaseMs: number;
  /** Claims of a stack job (its first run included) before it is failed instead of resumed. */
  maxAttempts: number;
  pool?: WarmPool;
}

/** One run of a stack job in this process. */
interface Run {
  job: StackJob;
  viewer: Viewer;
  signal: AbortSignal;
  /** Progress writes one at a time, in order (steps run in parallel, the payload is one value). */
  writes: Promise<unknown>;
}

export class PlanRunner {
  constructor(private readonly deps: StackServiceDeps) {}

  /**
   * Records an event — with a machine step's new record, or the job's end — in one transaction,
   * after the job's earlier writes, then tells live subscribers. The record counts only once
   * written, so the row never claims a step whose event is missing. The percentage is the
   * job's, after the step.
   */
  async emit(
    run: Pick<Run, 'job' | 'writes'>,
    event: { message: string; status: string; error?: string },
    options: { step?: [machine: string, record: StepRecord]; end?: { error: string | undefined } } = {},
  ): Promise<void> {
    const write = run.writes.then(async () => {
      const { job } = run;
      const steps = options.step
        ? { ...job.payload.steps, [options.step[0]]: options.step[1] }
        : job.payload.steps;
      const payload = { ...job.payload, steps };
      const stored = await recordStackProgress(
        this.deps.store.conn,
        { ...job, payload },
        this.deps.holder,
        {
          eventId: job.id,
          message: event.message,
          percentage: options.end ? 100 : percentDone(payload),
          status: event.status,
          ...(event.error ? { error: event.error } : {}),
          at: Date.now(),
        },
        options.end,
      );
      job.payload.steps = steps;
      return stored;
    });
    run.writes = write.catch(() => undefined);
    const stored = await write;
    this.deps.events.publish({ ...stored, machineId: '' });
  }

  /**
   * Runs (or resumes) the job's plan and records its end; resolves with the failure summary, or
   * undefined when every machine succeeded. Rejects with or the signal's reason,
   * when it must stop without finishing.
   */
  async run(job: StackJob, viewer: Viewer, signal: AbortSignal): Promise<string | undefined> {
    const { plan } = job.payload;
    const run: Run = { job, viewer, signal, writes: Promise.resolve() };
    const total = plan.actions.filter((a) => a.action !== 'none').length || 1;
    const record = (a: PlanAction, step: StepRecord, message: string) =>
      this.emit(run, { message, status: 'running' }, { step: [a.machine, step] });
    const step = async (a: PlanAction) => {
      const before = job.payload.steps[a.machine];
      if (before?.status === 'done') return;
      if (before?.status === 'failed') throw kloudErrors.invalidState(before.error);
      await record(
        a,
        { status: 'started' },
        before ? `${a.machine}: ${a.action} resumed` : `${a.machine}: ${a.action} (${a.reason})`,
      );
      try {
        await this.execute(run, a);
      } catch (err) {
        if (err instanceof ClaimLost || signal.aborted) throw err;
        const why = describeFailure(err);
        await record(a, { status: 'failed', error: why }, `${a.machine}: ${a.action} failed: ${why}`);
        throw err;
      }
      await record(a, { status: 'done' }, `${a.machine}: ${a.action} done`);
    };
    const byName = new Map(plan.actions.map((a) => [a.machine, a]));
    const destroys = plan.actions.filter((a) => a.action === 'destroy');
    const rest = plan.actions.filter((a) => a.action !== 'destroy');
    if (job.attempts === 1 && Object.keys(job.payload.steps).length === 0)
      await this.emit(run, {
        message: `applying ${total} change(s) to stack ${job.payload.stack.id}`,
        status: 'running',
      });
    const first = await runInOrder(
      destroys.map((a) => ({ name: a.machine, dependsOn: a.dependsOn })),
      (n) => step(byName.get(n)!),
      { reverse: true },
    );
    const second = await runInOrder(
      rest.map((a) => ({ name: a.machine, dependsOn: a.dependsOn })),
      (n) => step(byName.get(n)!),
    );
    const outcomes = [...first, ...second];
    // A step stopped because this process lost the job (or is closing) is not a failure: stop.
    for (const [, o] of outcomes) if (o.status === 'failed' && o.error instanceof ClaimLost) throw o.error;
    if (signal.aborted) throw signal.reason;
    const failures = outcomes.filter(([, o]) => o.status !== 'succeeded');
    if (failures.length === 0) {
      await this.emit(run, { message: 'stack applied', status: 'done' }, { end: { error: undefined } });
      return undefined;
    }
    const why = failures
      .map(
        ([n, o]) =>
          `${n}: ${o.status === 'failed' ? describeFailure(o.error) : o.status === 'skipped' ? o.reason : ''}`,
      )
      .join('; ');
    await this.emit(
      run,
      { message: `stack apply failed for ${failures.length} machine(s)`, status: 'failed', error: why },
      { end: { error: why } },
    );
    return why;
  }

  private async execute(run: Run, a: PlanAction): Promise<void> {
    const { store } = this.deps;
    const { viewer } = run;
    const stack = run.job.payload.stack;
    const stackId = stack.id;
    const call = (machineId: string, action: MachineAction) => this.lifecycleCall(run, a, machineId, action);
    const setSpec = async (machineId: string, d: DesiredMachine) => {
      const m = await getMachine(store, machineId);
      await store.machines.update(
        machineId,
        {
          meta: { ...m.meta, spec: d, stackMachine: d.name },
          label: d.label,
          credentialId: d.credentialId ?? null,
        },
        undefined,
        viewer.id,
      );
    };
    switch (a.action) {
      case 'none':
        return;
      case 'create': {
        const d = a.desired!;
        // Resumed: the machine this step created (or took from the pool) before the crash.
        const made = await this.machineNamed(stackId, d.name);
        if (made) {
          const asked = await this.askedFor(run, a, made.id, 'build');
          if (!asked && made.status.state === 'Running') return;
          return call(made.id, 'build');
        }
        const pooled =
          stack.templateId && (await this.deps.pool?.take(stack.templateId, d, viewer.id, stackId));
        if (pooled) return;
        const user = await store.users.get(viewer.id);
        const m = await store.machines.create(
          {
            provider: d.provider,
            label: d.label,
            stackId,
            credentialId: d.credentialId ?? null,
            meta: { spec: d, stackMachine: d.name },
          },
          { id: viewer.id, username: user?.username ?? 'x' },
        );
        return call(m.id, 'build');
      }
      case 'build':
        await setSpec(a.machineId!, a.desired!);
        return call(a.machineId!, 'build');
      case 'replace':
        await call(a.machineId!, 'destroy');
        await setSpec(a.machineId!, a.desired!);
        return call(a.machineId!, 'build');
      case 'update':
        return setSpec(a.machineId!, a.desired!);
      case 'reprovision':
        await setSpec(a.machineId!, a.desired!);
        return this.reprovision(a.machineId!);
      case 'destroy':
        return call(a.machineId!, 'destroy');
      case 'blocked':
        throw kloudErrors.conflict(`machine ${a.machine} is busy`);
    }
  }

  /** The stack's machine with this name, if it has one. */
  private async machineNamed(stackId: string, name: string) {
    const rows = await this.deps.store.conn.db
      .selectFrom('machines')
      .select('id')
      .where('stackId', '=', stackId)
      .execute();
    for (const { id } of rows) {
      const m = await this.deps.store.machines.get(id);
      if (m && (typeof m.meta.stackMachine === 'string' ? m.meta.stackMachine : m.label) === name) return m;
    }
    return undefined;
  }

  /** The lifecycle job this step already asked for on the machine (a resumed run), if any. */
  private async askedFor(
    run: Run,
    a: PlanAction,
    machineId: string,
    action: MachineAction,
  ): Promise<string | undefined> {
    const parent = `${run.job.id}/${a.machine}`;
    const rows = await this.deps.store.conn.db
      .selectFrom('jobs')
      .select(['id', 'payload'])
      .where('machineId', '=', machineId)
      .where('kind', '=', `machine.${action}`)
      .where('createdAt', '>=', run.job.createdAt)
      .orderBy('createdAt', 'desc')
      .execute();
    return rows.find((r) => (JSON.parse(r.payload) as JobPayload).parent === parent)?.id;
  }

  /**
   * Runs a lifecycle call — or, resumed, finds the one this step asked for — and waits for its
   * job wherever it runs; throws with the kept reason when the machine did not end as wanted.
   */
  private async lifecycleCall(
    run: Run,
    a: PlanAction,
    machineId: string,
    action: MachineAction,
  ): Promise<void> {
    const { lifecycle } = this.deps;
    const jobId =
      (await this.askedFor(run, a, machineId, action)) ??
      (await lifecycle.request(machineId, action, run.viewer.id, { parent: `${run.job.id}/${a.machine}` }))
        .eventId;
    await lifecycle.ended(jobId, run.signal);
    const m = await getMachine(this.deps.store, machineId);
    const want = action === 'destroy' ? 'Terminated' : 'Running';
    if (m.status.state !== want)
      throw kloudErrors.invalidState(m.status.reason, { machineId, state: m.status.state });
  }

  private async reprovision(machineId: string): Promise<void> {
    const m = await getMachine(this.deps.store, machineId);
    const stack = m.stackId ? await this.deps.store.stacks.get(m.stackId) : undefined;
    for (const p of specOf(m)?.provisioners ?? []) {
      const out = await this.deps.agents.runScript(m.kiteId ?? '', p.content, {
        env: stack?.config,
        timeoutMs: this.deps.provisionTimeoutMs,
      });
      if (out.exitCode !== 0)
        throw kloudErrors.invalidState(`provisioner ${p.name} failed with exit code ${out.exitCode}`, {
          machineId,
        });
    }
  }
}
