/**
 * Follows a Kloud job (a lifecycle call or a stack apply) to its end through Kloud's RPC
 * endpoint: `kloud.subscribe` replays the stored events, then streams new ones, so a job that
 * already finished is reported at once. Progress goes to the Progress view (bar on a TTY,
 * lines otherwise). Resolves with the last event.
 */
import { connect } from '@kk/protocol/node.js';
import { cliErrors, toCliError } from '../errors.js';
import { Progress } from '../output/progress.js';
import type { KloudApi } from './api.js';

export interface JobEvent {
  eventId: string;
  message: string;
  percentage: number | null;
  status: string;
  error?: string;
}

const inProgress = new Set([
  'Building',
  'Starting',
  'Stopping',
  'Rebooting',
  'Terminating',
  'running',
  'queued',
]);

/** A job's last event: `failed`, a stack's `done`, or a machine job's resulting state. */
export function isFinal(event: JobEvent): boolean {
  return (
    !inProgress.has(event.status) &&
    (event.percentage === 100 || event.status === 'failed' || event.status === 'done')
  );
}

export async function followJob(
  api: KloudApi,
  eventId: string,
  progress = new Progress(),
): Promise<JobEvent> {
  const client = connect(api.rpcUrl(), api.login.token, { reconnect: false });
  try {
    const { streamId } = await client.call('kloud.subscribe', { eventId }).catch((error) => {
      const e = toCliError(error);
      throw cliErrors.unavailable(`cannot follow job ${eventId} on ${api.url}: ${e.message}`);
    });
    const reader = client.openReader(streamId);
    for await (const chunk of reader) {
      const event = chunk as JobEvent;
      const fraction = event.percentage === null ? null : event.percentage / 100;
      progress.update(
        fraction,
        event.error ? `${event.message} (${event.error})` : event.message,
        isFinal(event),
      );
      if (isFinal(event)) {
        progress.done();
        reader.cancel('job finished');
        return event;
      }
    }
    throw cliErrors.unavailable(
      `the event stream of job ${eventId} ended before the job did; see kd machine info`,
    );
  } finally {
    client.close();
  }
}
