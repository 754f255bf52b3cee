/**
 * @kk/kloud — the manager. See README.md for what each piece promises.
 */
export { ConfigError, type KloudConfig, loadKloudConfig, settings } from './config.js';
export { KloudError, type KloudErrorName, kloudErrors, type Problem } from './errors.js';
export { type Kloud, type StartOptions, startKloud } from './kloud.js';
export {
  allowedActions,
  isAllowed,
  type MachineAction,
  type MachineState,
  machineStates,
} from './lifecycle/states.js';
export { type CurrentMachine, type Plan, type PlanAction, planStack } from './stacks/plan.js';
export { type DesiredMachine, resolveStack, type StackInputs } from './stacks/resolve.js';
export { parseTemplate, type StackTemplate, templateSchema } from './stacks/template.js';
