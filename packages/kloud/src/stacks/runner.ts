/**
 * Carries out a stack plan in the background: destroys first (dependents before what they
 * depend on), then creates, builds, replaces and reprovisions in dependency order, independent
 * machines in parallel; a failed machine's dependents are skipped and named in the final event.
 * Every machine step is an ordinary lifecycle call (lease, job, events, crash recovery); a create
 * takes a ready machine from the template's warm pool when one matches.
 */
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Store } from '@kk/backend/store/store.js';
import type { Logger } from 'pino';
import { kloudErrors } from '../errors.js';
import type { WarmPool } from '../jobs/warm-pool.js';
import type { EventBus } from '../lifecycle/events.js';
import { describeFailure, type Lifecycle } from '../lifecycle/lifecycle.js';
import type { MachineAction } from '../lifecycle/states.js';
import { getMachine, specOf } from '../machines/machine.js';
import type { Registry } from '../registry/registry.js';
import type { Plan, PlanAction } from './plan.js';
import type { DesiredMachine } from './resolve.js';
import { runInOrder } from './schedule.js';

export interface StackRef {
  id: string;
  templateId: string | null;
}

export interface StackServiceDeps {
  store: Store;
  lifecycle: Lifecycle;
  registry: Registry;
  events: EventBus;
  log: Logger;
  provisionTimeoutMs: number;
  holder: string;
  pool?: WarmPool;
}

export class PlanRunner {
  constructor(private readonly deps: StackServiceDeps) {}

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
  async run(viewer: Viewer, stack: StackRef, eventId: string, plan: Plan): Promise<string | undefined> {
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
