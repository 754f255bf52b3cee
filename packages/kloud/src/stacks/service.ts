/**
 * Stacks as callers see them (plan, apply, destroy, describe), one implementation behind the
 * REST API and the RPC methods. `apply` and `destroy` answer an event id at once; the plan is
 * carried out in the background by runner.ts. An apply interrupted by a Kloud restart is not
 * resumed as a whole: its machine jobs are, and running `apply` again finishes the rest (plan is
 * idempotent).
 */
import { randomUUID } from 'node:crypto';
import type { Viewer } from '@kk/backend/access/viewer.js';
import { kloudErrors } from '../errors.js';
import { machineAccess } from '../machines/access.js';
import { getMachine, specOf } from '../machines/machine.js';
import { toInfo } from '../machines/service.js';
import { type CurrentMachine, type Plan, type PlanAction, planStack } from './plan.js';
import { type DesiredMachine, resolveStack } from './resolve.js';
import { PlanRunner, type StackRef, type StackServiceDeps } from './runner.js';
import { endStackJob, startStackJob } from './stack-jobs.js';
import { parseTemplate } from './template.js';

export interface StackInputsParams {
  stackId: string;
  variables?: Record<string, string | number | boolean>;
  credentials?: Record<string, string>;
}

export class StackService {
  private readonly running = new Map<string, Promise<unknown>>();
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
    const done = this.runner
      .run(viewer, stack, eventId, plan)
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
}
