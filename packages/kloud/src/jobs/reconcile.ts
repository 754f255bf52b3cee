/**
 * Reconciles the database with what each provider really has (listTagged + describe), per
 * credential in use. Drift is reported and recorded as an event, never silently lost:
 *
 * - a machine whose instance vanished at the provider → state Unknown (only destroy gets it out),
 *   with the reason and an event;
 * - a machine whose instance runs or is stopped other than recorded (a local Klient that died,
 *   an instance stopped in the cloud console) → the provider's state, with an event;
 * - an instance carrying Kloud's tags that no machine owns → an event naming it (once per
 *   process), and left alone: deleting what Kloud does not know is an operator's decision.
 *
 * Machines with a job at work on them are skipped.
 */
import { randomUUID } from 'node:crypto';
import { isInProgress } from '../lifecycle/states.js';
import type { Machine } from '../machines/machine.js';
import type { TaggedInstance } from '../providers/provider.js';
import type { BackgroundDeps } from './background.js';

const reportedUnknown = new Set<string>();

async function record(
  d: BackgroundDeps,
  machineId: string | null,
  message: string,
  status: string,
): Promise<void> {
  const event = await d.store.events.append({
    eventId: `reconcile-${randomUUID()}`,
    machineId,
    message,
    status,
  });
  if (machineId) d.events.publish({ ...event, machineId, error: undefined, percentage: null });
  d.log.warn({ machineId, status }, message);
}

export async function reconcile(d: BackgroundDeps): Promise<void> {
  const rows = await d.store.conn.db
    .selectFrom('machines')
    .select(['id'])
    .where('instanceId', 'is not', null)
    .execute();
  const machines: Machine[] = [];
  for (const { id } of rows) {
    const m = await d.store.machines.get(id);
    if (m) machines.push(m);
  }
  // One listing per provider and credential.
  const groups = new Map<string, Machine[]>();
  for (const m of machines) {
    const key = `${m.provider}\u0000${m.credentialId ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  if (!groups.has('local\u0000')) groups.set('local\u0000', []);
  for (const [key, group] of groups) {
    const [providerName, credentialId] = key.split('\u0000') as [string, string];
    const provider = d.providers.get(providerName);
    if (!provider) continue;
    const credential =
      group[0] !== undefined
        ? await d.credential(group[0]).catch(() => undefined)
        : credentialId
          ? undefined
          : { id: 'local', provider: 'local', secret: {} };
    if (!credential) continue;
    let tagged: TaggedInstance[];
    try {
      tagged = await provider.listTagged(credential);
    } catch (err) {
      d.log.warn({ err, provider: providerName }, 'reconcile: listing failed; will retry');
      continue;
    }
    const byInstance = new Map(tagged.map((t) => [t.instanceId, t]));
    for (const m of group) {
      const fresh = await d.store.machines.get(m.id);
      if (!fresh?.instanceId || isInProgress(fresh.status.state) || fresh.status.state === 'Unknown')
        continue;
      const seen =
        byInstance.get(fresh.instanceId) ??
        (await provider.describe(credential, fresh.instanceId).catch(() => undefined));
      if (!seen || seen.state === 'Terminated') {
        const reason = `instance ${fresh.instanceId} vanished at ${providerName} (was ${fresh.status.state})`;
        await d.store.machines
          .setStatus(m.id, { state: 'Unknown', reason }, { from: [fresh.status.state] }, null)
          .catch(() => undefined);
        await record(d, m.id, reason, 'Unknown');
      } else if (
        (seen.state === 'Running' || seen.state === 'Stopped') &&
        seen.state !== fresh.status.state
      ) {
        const reason = `${providerName} reports the instance ${seen.state}; Kloud had ${fresh.status.state}`;
        await d.store.machines
          .setStatus(m.id, { state: seen.state, reason }, { from: [fresh.status.state] }, null)
          .catch(() => undefined);
        await record(d, m.id, reason, seen.state);
      }
    }
    const known = new Set(machines.map((m) => m.instanceId));
    for (const t of tagged) {
      if (known.has(t.instanceId) || reportedUnknown.has(`${providerName}/${t.instanceId}`)) continue;
      // A build between its create and recording the instance id is not drift.
      const owner = t.machineId ? await d.store.machines.get(t.machineId) : undefined;
      if (owner && isInProgress(owner.status.state)) continue;
      reportedUnknown.add(`${providerName}/${t.instanceId}`);
      await record(
        d,
        null,
        `unknown instance ${t.instanceId} at ${providerName} (tagged for machine ${t.machineId ?? 'none'}, ${t.state}); left alone for an operator`,
        'drift',
      );
    }
  }
}
