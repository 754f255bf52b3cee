/**
 * Kloud's helpers over the backend's Machine (Koding's JMachine): the backend creates it, Kloud
 * owns its status, runtime and registry fields after that. Kloud keeps what it needs to build
 * the machine in `meta` (`spec`, the resolved stack-template machine; `stackMachine`, its name
 * in the stack).
 */
import type { Machine } from '@kk/backend/repos/machines.js';
import type { Store } from '@kk/backend/store/store.js';
import { kloudErrors } from '../errors.js';
import type { MachineState } from '../lifecycle/states.js';
import type { DesiredMachine } from '../stacks/resolve.js';

export type { Machine };

export function specOf(machine: Machine): DesiredMachine | undefined {
  return machine.meta.spec as DesiredMachine | undefined;
}

export function stateOf(machine: Machine): MachineState {
  return machine.status.state;
}

export async function getMachine(store: Store, id: string): Promise<Machine> {
  const machine = await store.machines.get(id);
  if (!machine) throw kloudErrors.notFound(`no machine ${id}`, { machineId: id });
  return machine;
}

/** What a build needs, from the stack's spec or, for a machine created through the API, its meta and provisioner ids. */
export interface BuildSpec {
  size?: string;
  image?: string;
  region?: string;
  userData?: string;
  extra?: Record<string, unknown>;
  provisioners: Array<{ name: string; content: string }>;
  onBuildFailure: 'destroy' | 'keep';
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export async function buildSpecOf(store: Store, machine: Machine): Promise<BuildSpec> {
  const spec = specOf(machine);
  if (spec) return spec;
  const meta = machine.meta;
  const provisioners: BuildSpec['provisioners'] = [];
  for (const id of machine.provisioners) {
    const p = await store.provisioners.get(id);
    if (!p) throw kloudErrors.notFound(`machine ${machine.id}'s provisioner ${id} is gone`);
    provisioners.push({ name: p.slug, content: p.content });
  }
  return {
    size: text(meta.size),
    image: text(meta.image),
    region: text(meta.region),
    userData: text(meta.userData),
    extra: meta.extra && typeof meta.extra === 'object' ? (meta.extra as Record<string, unknown>) : undefined,
    provisioners,
    onBuildFailure: meta.onBuildFailure === 'keep' ? 'keep' : 'destroy',
  };
}
