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
