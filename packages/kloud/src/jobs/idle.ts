/**
 * Stops machines idle past their limit. The limit is the machine's `meta.idleStopMinutes`, else
 * Kloud's `--idle-stop-minutes` (0 = never). Idleness comes from the machine itself
 * (`klient.usage`: seconds since the last fs write, exec or terminal input), asked over its link.
 */
import type { BackgroundDeps } from './background.js';

export function idleLimitMinutes(meta: Record<string, unknown>, fallback: number): number {
  const own = meta.idleStopMinutes;
  return typeof own === 'number' && Number.isFinite(own) && own >= 0 ? own : fallback;
}

export async function stopIdleMachines(d: BackgroundDeps): Promise<void> {
  const rows = await d.store.conn.db
    .selectFrom('machines')
    .select(['id'])
    .where('state', '=', 'Running')
    .where('online', '=', 1)
    .execute();
  for (const { id } of rows) {
    const machine = await d.store.machines.get(id);
    if (!machine?.kiteId || !d.registry.isOnline(machine.kiteId)) continue;
    const minutes = idleLimitMinutes(machine.meta, d.config.idleStopMinutes);
    if (minutes <= 0) continue;
    const usage = await d.registry.call(machine.kiteId, 'klient.usage', {}, 15_000).catch(() => undefined);
    if (!usage || usage.secondsSinceActivity < minutes * 60) continue;
    try {
      await d.lifecycle.request(id, 'stop', null);
      await d.store.events.append({
        eventId: `idle-${id}-${Date.now()}`,
        machineId: id,
        message: `stopped after ${Math.floor(usage.secondsSinceActivity / 60)} idle minute(s) (limit ${minutes})`,
        status: 'Stopping',
      });
      d.log.info({ machineId: id, idleSeconds: usage.secondsSinceActivity }, 'stopping an idle machine');
    } catch (err) {
      d.log.warn({ err, machineId: id }, 'could not stop an idle machine');
    }
  }
}
