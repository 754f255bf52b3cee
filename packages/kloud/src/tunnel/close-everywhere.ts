/**
 * Closing tunnel connections on every Kloud process. A caller's connection lives on the process
 * that spliced it (and, when relayed, on the link holder as well), which need not be the process
 * that served the unshare. So an order to close is carried out here at once and announced on the
 * store's notifier (PostgreSQL `NOTIFY`), and every process carries it out on its own
 * connections. With SQLite (one process) the announcement stays in memory: the local close is
 * all there is. A process whose LISTEN connection is down when the order is sent misses it; its
 * callers keep their connection until it ends, but cannot open a new one (access is checked at
 * every connect).
 */
import type { Store } from '@kk/backend/store/store.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Tunnel } from './tunnel.js';

const CHANNEL = 'kk_tunnel_close';

const closeOrder = z.object({
  machineId: z.string().min(1),
  /** Absent: everyone's connections to the machine. */
  userId: z.string().min(1).optional(),
  reason: z.string(),
});
export type CloseOrder = z.infer<typeof closeOrder>;

/** Closes the connections `order` names here and on every other process sharing the store. */
export async function closeEverywhere(store: Store, tunnel: Tunnel, order: CloseOrder): Promise<void> {
  tunnel.closeConnections(order.machineId, order.userId, order.reason);
  await store.notifier.publish(CHANNEL, JSON.stringify(order));
}

/** Carries out the orders other processes announce; resolves once listening, returns the stop. */
export function obeyCloseOrders(store: Store, tunnel: Tunnel, log: Logger): Promise<() => void> {
  return store.notifier.subscribe(CHANNEL, (payload) => {
    let order: CloseOrder;
    try {
      order = closeOrder.parse(JSON.parse(payload));
    } catch (err) {
      log.warn({ err, channel: CHANNEL }, 'ignored a malformed tunnel close order');
      return;
    }
    const closed = tunnel.closeConnections(order.machineId, order.userId, order.reason);
    if (closed > 0)
      log.info({ machineId: order.machineId, userId: order.userId, closed }, 'tunnel connections closed');
  });
}
