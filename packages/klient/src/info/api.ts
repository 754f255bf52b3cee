import type { HandlerMap } from '@kk/protocol/peer.js';
import { lastActivity, secondsSinceActivity } from '../activity.js';
import type { KlientContext } from '../context.js';
import { machineInfo } from './system.js';

/** klient.*: the wire to the agent's own facts. */
export function infoHandlers({ config }: KlientContext): HandlerMap {
  return {
    'klient.ping': () => ({ pong: true, at: Date.now() }),
    'klient.info': () => machineInfo(config.home, config.kiteId),
    'klient.usage': () => ({ secondsSinceActivity: secondsSinceActivity(), lastActivityAt: lastActivity() }),
  };
}
