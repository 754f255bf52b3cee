/**
 * Every method Kloud's RPC endpoint (`/api/v1/rpc`) serves, in one place. Each is a thin
 * mapping onto the same services the REST routes call; the principal is the API token's user.
 */
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Store } from '@kk/backend/store/store.js';
import type { CallContext, HandlerMap } from '@kk/protocol/peer.js';
import { withRpcErrors } from '../api/backend-error.js';
import type { MachineAction } from '../lifecycle/states.js';
import type { MachineService } from '../machines/service.js';
import type { StackService } from '../stacks/service.js';

export interface RpcDeps {
  store: Store;
  machines: MachineService;
  stacks: StackService;
}

/** Runs a handler with the caller's viewer; Kloud's own errors cross the wire with their codes. */
function as<T>(deps: RpcDeps, ctx: CallContext, fn: (viewer: Viewer) => Promise<T>): Promise<T> {
  return withRpcErrors(async () => fn(await deps.store.viewer(ctx.principal.sub)))();
}

export function kloudRpcMethods(deps: RpcDeps): HandlerMap {
  const lifecycle = (action: MachineAction) => (p: { machineId: string }, ctx: CallContext) =>
    as(deps, ctx, (v) => deps.machines.call(v, p.machineId, action));
  return {
    'kloud.build': lifecycle('build'),
    'kloud.start': lifecycle('start'),
    'kloud.stop': lifecycle('stop'),
    'kloud.restart': lifecycle('restart'),
    'kloud.destroy': lifecycle('destroy'),
    'kloud.info': (p, ctx) => as(deps, ctx, (v) => deps.machines.info(v, p.machineId)),
    'kloud.events': (p, ctx) => as(deps, ctx, async (v) => ({ events: await deps.machines.events(v, p) })),
    'kloud.subscribe': (p, ctx) =>
      as(deps, ctx, async (v) => {
        const stream = ctx.openStream();
        const unsubscribe = await deps.machines.subscribe(v, p, (event) => stream.write(event));
        stream.onCancel(unsubscribe);
        ctx.signal.addEventListener('abort', unsubscribe, { once: true });
        return { streamId: stream.id };
      }),
    'kloud.plan': (p, ctx) => as(deps, ctx, (v) => deps.stacks.plan(v, p)),
    'kloud.apply': (p, ctx) => as(deps, ctx, (v) => deps.stacks.apply(v, p)),
    'kloud.destroyStack': (p, ctx) => as(deps, ctx, (v) => deps.stacks.destroy(v, p.stackId)),
    'kloud.describeStack': (p, ctx) => as(deps, ctx, (v) => deps.stacks.describe(v, p.stackId)),
  };
}
