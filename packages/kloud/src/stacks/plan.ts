/**
 * `plan`: what `apply` would do to bring a stack's current machines to its template. Pure:
 * it compares resolved specs with what is stored for each machine and its state.
 */
import { isInProgress, type MachineState } from '../lifecycle/states.js';
import { type DesiredMachine, rebuildFields } from './resolve.js';

/** A machine the stack has now, with the spec it was last applied with. */
export interface CurrentMachine {
  name: string;
  machineId: string;
  state: MachineState;
  spec?: DesiredMachine;
}

export type PlanActionKind =
  /** New machine: create its record and build it. */
  | 'create'
  /** Record exists but no instance (NotInitialized/Terminated): build it with the new spec. */
  | 'build'
  /** A field that fixes the instance changed: destroy it and build again. */
  | 'replace'
  /** Only provisioners changed: run them again on the running machine. */
  | 'reprovision'
  /** Only provisioners changed on a machine that is not running: stored, used on its next build. */
  | 'update'
  /** In the stack, gone from the template. */
  | 'destroy'
  | 'none'
  /** A job is at work on it: apply refuses until it ends. */
  | 'blocked';

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface PlanAction {
  machine: string;
  machineId?: string;
  action: PlanActionKind;
  reason: string;
  changes: FieldChange[];
  /** For create/build/replace/reprovision/update: the spec to apply. */
  desired?: DesiredMachine;
  /** For ordering: dependencies (desired for creates, stored for destroys). */
  dependsOn: string[];
}

export interface Plan {
  actions: PlanAction[];
  /** True when apply would change nothing. */
  empty: boolean;
  blocked: boolean;
}

function changedFields(from: DesiredMachine, to: DesiredMachine, secretUserData: boolean): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of [...rebuildFields, 'label'] as const) {
    const a = from[field];
    const b = to[field];
    if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) {
      // user data may carry secrets: show that it changed, not what it is.
      const hide = field === 'userData' && secretUserData;
      changes.push({ field, from: hide ? '(changed)' : a, to: hide ? '(changed)' : b });
    }
  }
  if (from.provisionersHash !== to.provisionersHash)
    changes.push({
      field: 'provisioners',
      from: from.provisioners.map((p) => p.name),
      to: to.provisioners.map((p) => p.name),
    });
  return changes;
}

export function planStack(desired: DesiredMachine[], current: CurrentMachine[]): Plan {
  const byName = new Map(current.map((c) => [c.name, c]));
  const wanted = new Set(desired.map((d) => d.name));
  const actions: PlanAction[] = [];

  for (const d of desired) {
    const c = byName.get(d.name);
    const base = { machine: d.name, desired: d, dependsOn: d.dependsOn };
    if (!c) {
      actions.push({ ...base, action: 'create', reason: 'not in the stack yet', changes: [] });
      continue;
    }
    const changes = c.spec ? changedFields(c.spec, d, true) : [];
    const withId = { ...base, machineId: c.machineId, changes };
    if (isInProgress(c.state)) {
      actions.push({
        ...withId,
        action: 'blocked',
        reason: `machine is ${c.state}; wait for its job to end`,
      });
    } else if (c.state === 'NotInitialized' || c.state === 'Terminated') {
      actions.push({ ...withId, action: 'build', reason: `machine is ${c.state}` });
    } else if (!c.spec || c.spec.specHash !== d.specHash) {
      actions.push({
        ...withId,
        action: 'replace',
        reason: c.spec ? 'instance fields changed' : 'no stored spec',
      });
    } else if (c.spec.provisionersHash !== d.provisionersHash) {
      actions.push(
        c.state === 'Running'
          ? { ...withId, action: 'reprovision', reason: 'provisioners changed' }
          : {
              ...withId,
              action: 'update',
              reason: `provisioners changed; machine is ${c.state}, they run on its next build`,
            },
      );
    } else if (c.spec.label !== d.label) {
      actions.push({ ...withId, action: 'update', reason: 'label changed' });
    } else {
      actions.push({ ...withId, action: 'none', reason: `up to date (${c.state})` });
    }
  }
  for (const c of current) {
    if (wanted.has(c.name)) continue;
    const deps = (c.spec?.dependsOn ?? []).filter((n) => !wanted.has(n) && byName.has(n));
    if (c.state === 'Terminated') continue;
    actions.push({
      machine: c.name,
      machineId: c.machineId,
      action: isInProgress(c.state) ? 'blocked' : 'destroy',
      reason: isInProgress(c.state)
        ? `machine is ${c.state}; wait for its job to end`
        : 'no longer in the template',
      changes: [],
      dependsOn: deps,
    });
  }
  return {
    actions,
    empty: actions.every((a) => a.action === 'none'),
    blocked: actions.some((a) => a.action === 'blocked'),
  };
}
