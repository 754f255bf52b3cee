/**
 * Builds stuck past their deadline are failed (and so cleaned up by the build's rollback), and
 * a machine left in an in-progress state with no job at work on it (a job failed for good by a
 * lapsed lease outside the lifecycle) is set to what its provider reports — never left in
 * Building. Both are recorded as events on the machine.
 */
import { randomUUID } from 'node:crypto';
import { isInProgress, type MachineState, machineStates } from '../lifecycle/states.js';
import type { BackgroundDeps } from './background.js';

export async function failStuckBuilds(d: BackgroundDeps): Promise<void> {
  const limit = Date.now() - d.config.buildDeadlineMs;
  const stuck = await d.store.conn.db
    .selectFrom('jobs')
    .select(['id', 'machineId'])
    .where('state', '=', 'running')
    .where('kind', '=', 'machine.build')
    .where('createdAt', '<', limit)
    .execute();
  for (const job of stuck) {
    const seconds = Math.round(d.config.buildDeadlineMs / 1000);
    if (d.lifecycle.abort(job.id, `build exceeded its deadline of ${seconds} s`))
      d.log.warn({ jobId: job.id, machineId: job.machineId }, 'failing a build stuck past its deadline');
  }
}

const inProgress = machineStates.filter(isInProgress);

export async function unstickMachines(d: BackgroundDeps): Promise<void> {
  const rows = await d.store.conn.db
    .selectFrom('machines')
    .select(['id'])
    .where('state', 'in', inProgress)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('jobs')
            .select('jobs.id')
            .whereRef('jobs.machineId', '=', 'machines.id')
            .where('jobs.state', '=', 'running'),
        ),
      ),
    )
    .execute();
  for (const { id } of rows) {
    const machine = await d.store.machines.get(id);
    if (!machine || !isInProgress(machine.status.state)) continue;
    let state: MachineState = machine.instanceId ? 'Unknown' : 'NotInitialized';
    const provider = d.providers.get(machine.provider);
    if (machine.instanceId && provider) {
      const info = await provider
        .describe(await d.credential(machine), machine.instanceId)
        .catch(() => undefined);
      if (info && (info.state === 'Running' || info.state === 'Stopped' || info.state === 'Terminated'))
        state = info.state;
    }
    const reason = `was ${machine.status.state} with no job at work on it; set to what the provider reports (${state})`;
    await d.store.machines
      .setStatus(id, { state, reason }, { from: [machine.status.state] }, null)
      .catch(() => undefined);
    const event = await d.store.events.append({
      eventId: `sweep-${randomUUID()}`,
      machineId: id,
      message: reason,
      status: state,
    });
    d.events.publish({ ...event, machineId: id, error: undefined, percentage: null });
    d.log.warn({ machineId: id, state }, 'machine was stuck in an in-progress state');
  }
}
