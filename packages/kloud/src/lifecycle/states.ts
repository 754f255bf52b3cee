/**
 * Koding's machine states and the calls each one allows (DESIGN §5). This table is the only
 * place the rules are written; the lifecycle, the REST API and the RPC methods all ask it.
 */

import { machineStateSchema } from '@kk/protocol/catalogue/kloud.js';

/** The states themselves are the protocol's (the catalogue is the one place a wire shape is written). */
export const machineStates = machineStateSchema.options;
export type MachineState = (typeof machineStates)[number];

export const machineActions = ['build', 'start', 'stop', 'restart', 'destroy'] as const;
export type MachineAction = (typeof machineActions)[number];

const allowed: Record<MachineState, readonly MachineAction[]> = {
  NotInitialized: ['build', 'destroy'],
  Running: ['stop', 'restart', 'destroy'],
  Stopped: ['start', 'destroy'],
  Terminated: ['build'],
  Building: [],
  Starting: [],
  Stopping: [],
  Rebooting: [],
  Terminating: [],
  // Unknown needs an operator: only destroy gets it out (after the reconciler has looked).
  Unknown: ['destroy'],
};

/** The state a machine shows while an action runs, and the one it reaches when it succeeds. */
export const transitions: Record<MachineAction, { during: MachineState; after: MachineState }> = {
  build: { during: 'Building', after: 'Running' },
  start: { during: 'Starting', after: 'Running' },
  stop: { during: 'Stopping', after: 'Stopped' },
  restart: { during: 'Rebooting', after: 'Running' },
  destroy: { during: 'Terminating', after: 'Terminated' },
};

export function allowedActions(state: MachineState): readonly MachineAction[] {
  return allowed[state];
}

export function isAllowed(state: MachineState, action: MachineAction): boolean {
  return allowed[state].includes(action);
}

/** States in which a job is at work on the machine; nothing else may run until it ends. */
export function isInProgress(state: MachineState): boolean {
  return (
    state === 'Building' ||
    state === 'Starting' ||
    state === 'Stopping' ||
    state === 'Rebooting' ||
    state === 'Terminating'
  );
}

export function isMachineState(value: string): value is MachineState {
  return (machineStates as readonly string[]).includes(value);
}
