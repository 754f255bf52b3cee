/**
 * Stacks as callers see them (plan, apply, destroy, describe), one implementation behind the
 * REST API and the RPC methods. `apply` answers an event id at once and works in the
 * background: destroys first (dependents before what they depend on), then creates, builds,
 * replaces and reprovisions in dependency order, independent machines in parallel; a failed
 * machine's dependents are skipped. Every machine step is an ordinary lifecycle call (lease,
 * job, events, crash recovery). An apply interrupted by a Kloud restart is not resumed as a
 * whole: its machine jobs are, and running `apply` again finishes the rest (plan is idempotent).
 */
import { randomUUID } from 'node:crypto';
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Store } from '@kk/backend/store/store.js';
import { kloudErrors } from '../errors.js';
import type { WarmPool } from '../jobs/warm-pool.js';
import type { EventBus } from '../lifecycle/events.js';
import { endStackJob, startStackJob } from '../lifecycle/jobstore.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import { describeFailure } from '../lifecycle/lifecycle.js';
import type { MachineAction } from '../lifecycle/states.js';
import { machineAccess } from '../machines/access.js';
import { getMachine, specOf } from '../machines/machine.js';
import { toInfo } from '../machines/service.js';
import type { Registry } from '../registry/registry.js';
import { type CurrentMachine, type Plan, type PlanAction, planStack } from './plan.js';
import { type DesiredMachine, resolveStack } from './resolve.js';
import { runInOrder } from './schedule.js';
import { parseTemplate } from './template.js';

interface StackRef {
  id: string;
  templateId: string | null;
}

export interface StackInputsParams {
  stackId: string;
  variables?: Record<string, string | number | boolean>;
  credentials?: Record<string, string>;
}

export interface StackServiceDeps {
  store: Store;
  lifecycle: Lifecycle;
  registry: Registry;
  events: EventBus;
  log: import('pino').Logger;
  provisionTimeoutMs: number;
  holder: string;
  pool?: WarmPool;
}

export class StackService {
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: StackServiceDeps) {}

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
    const eventId = randomUUID();
    await startStackJob(this.deps.store.conn.db, {
      id: eventId,
      kind: 'stack.apply',
      stackId: params.stackId,
      holder: this.deps.holder,
    });
    this.launch(viewer, { id: params.stackId, templateId: stack.templateId }, eventId, plan);
    return { eventId, actions: plan.actions };
  }

  async destroy(viewer: Viewer, stackId: string): Promise<{ eventId: string }> {
    await this.stackOf(viewer, stackId);
    const current = await this.current(stackId);
    const plan = planStack([], current);
    if (plan.blocked)
      throw kloudErrors.conflict('some machines of the stack are busy; destroy again when their jobs end');
    const eventId = randomUUID();
    await startStackJob(this.deps.store.conn.db, {
      id: eventId,
      kind: 'stack.destroy',
      stackId,
      holder: this.deps.holder,
    });
    this.launch(viewer, { id: stackId, templateId: null }, eventId, plan);
    return { eventId };
  }

  async describe(viewer: Viewer, stackId: string) {
    const stack = await this.stackOf(viewer, stackId);
    const machines = [];
    for (const c of await this.current(stackId)) {
      const m = await getMachine(this.deps.store, c.machineId);
      machines.push({
        ...toInfo(m, machineAccess(viewer, m) ?? 'owner', this.deps.registry.isOnline(m.kiteId ?? '')),
        name: c.name,
      });
    }
    return { stackId: stack.id, title: stack.title, templateId: stack.templateId, machines };
  }

  private launch(viewer: Viewer, stack: StackRef, eventId: string, plan: Plan): void {
    const stackId = stack.id;
    const done = this.run(viewer, stack, eventId, plan)
      .then((error) => endStackJob(this.deps.store.conn.db, eventId, error))
      .catch((err: unknown) => {
        this.deps.log.error({ err, stackId }, 'stack job failed unexpectedly');
        return endStackJob(this.deps.store.conn.db, eventId, 'internal error; see the Kloud log');
      })
      .finally(() => this.running.delete(eventId));
    this.running.set(eventId, done);
  }

  /** Resolves when the stack job with this event id has ended (tests, benchmarks). */
  async settled(eventId: string): Promise<void> {
    await this.running.get(eventId);
  }

  private async emit(eventId: string, message: string, percentage: number, status: string, error?: string) {
    const stored = await this.deps.store.events.append({
      eventId,
      jobId: eventId,
      message,
      percentage,
      status,
      error: error ?? null,
    });
    this.deps.events.publish({
      eventId,
      machineId: '',
      message,
      percentage,
      status,
      ...(error ? { error } : {}),
      at: stored.at,
      seq: stored.seq,
    });
  }

  /** Runs the plan; resolves with the failure summary, or undefined when every machine succeeded. */
  private async run(
    viewer: Viewer,
    stack: StackRef,
    eventId: string,
    plan: Plan,
  ): Promise<string | undefined> {
    const stackId = stack.id;
    const total = plan.actions.filter((a) => a.action !== 'none').length || 1;
    let done = 0;
    const step = async (a: PlanAction) => {
      await this.emit(
        eventId,
        `${a.machine}: ${a.action} (${a.reason})`,
        Math.floor((100 * done) / total),
        'running',
      );
      await this.execute(viewer, stack, a);
      done++;
      await this.emit(eventId, `${a.machine}: ${a.action} done`, Math.floor((100 * done) / total), 'running');
    };
    const byName = new Map(plan.actions.map((a) => [a.machine, a]));
    const destroys = plan.actions.filter((a) => a.action === 'destroy');
    const rest = plan.actions.filter((a) => a.action !== 'destroy');
    await this.emit(eventId, `applying ${total} change(s) to stack ${stackId}`, 0, 'running');
    const first = await runInOrder(
      destroys.map((a) => ({ name: a.machine, dependsOn: a.dependsOn })),
      (n) => step(byName.get(n)!),
      { reverse: true },
    );
    const second = await runInOrder(
      rest.map((a) => ({ name: a.machine, dependsOn: a.dependsOn })),
      (n) => step(byName.get(n)!),
    );
    const failures = [...first, ...second].filter(([, o]) => o.status !== 'succeeded');
    if (failures.length === 0) {
      await this.emit(eventId, 'stack applied', 100, 'done');
      return undefined;
    }
    const why = failures
      .map(
        ([n, o]) =>
          `${n}: ${o.status === 'failed' ? describeFailure(o.error) : o.status === 'skipped' ? o.reason : ''}`,
      )
      .join('; ');
    await this.emit(eventId, `stack apply failed for ${failures.length} machine(s)`, 100, 'failed', why);
    return why;
  }

  private async execute(viewer: Viewer, stack: StackRef, a: PlanAction): Promise<void> {
    const { store } = this.deps;
    const stackId = stack.id;
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
        return this.lifecycleCall(m.id, 'build', viewer.id);
      }
      case 'build':
        await setSpec(a.machineId!, a.desired!);
        return this.lifecycleCall(a.machineId!, 'build', viewer.id);
      case 'replace':
        await this.lifecycleCall(a.machineId!, 'destroy', viewer.id);
        await setSpec(a.machineId!, a.desired!);
        return this.lifecycleCall(a.machineId!, 'build', viewer.id);
      case 'update':
        return setSpec(a.machineId!, a.desired!);
      case 'reprovision':
        await setSpec(a.machineId!, a.desired!);
        return this.reprovision(a.machineId!);
      case 'destroy':
        return this.lifecycleCall(a.machineId!, 'destroy', viewer.id);
      case 'blocked':
        throw kloudErrors.conflict(`machine ${a.machine} is busy`);
    }
  }

  /** Runs a lifecycle call and waits for its job; throws with the kept reason when it failed. */
  private async lifecycleCall(machineId: string, action: MachineAction, actorId: string): Promise<void> {
    const accepted = await this.deps.lifecycle.request(machineId, action, actorId);
    await this.deps.lifecycle.settled(accepted.eventId);
    const m = await getMachine(this.deps.store, machineId);
    const want = action === 'destroy' ? 'Terminated' : 'Running';
    if (m.status.state !== want)
      throw kloudErrors.invalidState(m.status.reason, { machineId, state: m.status.state });
  }

  private async reprovision(machineId: string): Promise<void> {
    const m = await getMachine(this.deps.store, machineId);
    const stack = m.stackId ? await this.deps.store.stacks.get(m.stackId) : undefined;
    for (const p of specOf(m)?.provisioners ?? []) {
      const out = await this.deps.registry.runScript(m.kiteId ?? '', p.content, {
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
