import type { Handler, HandlerMap } from '@kk/protocol/peer.js';
import type { KlientContext } from './context.js';
import { mapErrors } from './errors.js';
import { execHandlers } from './exec/api.js';
import { fsHandlers } from './fs/api.js';
import { infoHandlers } from './info/api.js';
import { terminalHandlers } from './terminal/api.js';

/**
 * Every method Klient serves, in one place. Each capability maps its part of the catalogue;
 * every handler's failures go through `mapErrors`, so a Node errno reaches the caller as a
 * protocol code with a message naming the path, and nothing else leaks.
 */
export function klientMethods(ctx: KlientContext): HandlerMap {
  const methods: HandlerMap = {
    ...infoHandlers(ctx),
    ...fsHandlers(ctx),
    ...execHandlers(ctx),
    ...terminalHandlers(ctx.terminals),
  };
  const mapped: Record<string, Handler<never>> = {};
  for (const [name, handler] of Object.entries(methods) as Array<[string, Handler<never>]>) {
    mapped[name] = async (params, call) => {
      const started = performance.now();
      const log = (code?: number) =>
        ctx.log.debug(
          { method: name, sub: call.principal.sub, ms: Math.round(performance.now() - started), code },
          'call',
        );
      try {
        const result = await mapErrors(async () => handler(params, call));
        log();
        return result;
      } catch (err) {
        // Params are never logged: they can hold file contents, env values and stdin.
        log((err as { code?: number }).code);
        throw err;
      }
    };
  }
  return mapped as HandlerMap;
}
