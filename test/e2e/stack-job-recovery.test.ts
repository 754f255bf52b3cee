/**
 * A stack job whose Kloud keeps stopping is resumed each time, and failed cleanly once its
 * attempts are spent: one SQLite data directory, a Kloud stopped (without finishing its jobs)
 * while a stack's build waits at its provisioner, then started again, three times. The third
 * start takes the jobs over for the fourth time: the build is rolled back (its instance
 * destroyed, nothing left on the host) and the stack job ends failed with a final event saying
 * why and what to do; no job is left running.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  gatedMachine,
  type Json,
  killEverythingIn,
  startTestKloud,
  type TestKloud,
  tempDataDir,
  waitFor,
} from './harness.js';

const dir = tempDataDir();
let current: TestKloud | undefined;

afterAll(async () => {
  await current?.kloud.close().catch(() => {});
  await killEverythingIn(dir);
});

describe('a stack job whose Kloud keeps stopping', () => {
  it('is resumed until its attempts are spent, then failed cleanly with nothing left behind', async () => {
    current = await startTestKloud({ 'data-dir': dir });
    const { token } = current;
    const listen = new URL(current.kloud.url).host;
    const api = (method: string, path: string, body?: unknown) => current!.api(method, path, body, token);
    const gate = join(dir, 'never-opened');
    const template = await api('POST', '/api/v1/stack-templates', {
      title: 'stops',
      content: JSON.stringify({ machines: { m: gatedMachine(gate) } }),
    });
    const stack = (await api('POST', '/api/v1/stacks', { title: 'stops', templateId: template.body.id }))
      .body;
    const apply = await api('POST', `/api/v1/stacks/${stack.id}/apply`, {});
    expect(apply.status).toBe(202);
    const machine = await waitFor('the machine record', async () => {
      return (await api('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines[0];
    });
    const buildId: string = await waitFor(
      'the build job',
      async () =>
        (await api('GET', `/api/v1/jobs?machineId=${machine.id}&kind=machine.build`)).body.items[0]?.id,
    );
    const atGate = (times: number) =>
      waitFor(`the build at its provisioner (${times})`, async () => {
        const events: Json[] = (await api('GET', `/api/v1/events/${buildId}`)).body.events;
        return events.filter((e) => e.message.startsWith('running provisioner wait')).length >= times
          ? true
          : undefined;
      });

    for (let attempt = 1; attempt <= 3; attempt++) {
      await atGate(attempt);
      await current.kloud.close();
      // Same address: the machine's kite.key names it, so its Klient links to the new Kloud.
      current = await startTestKloud({ 'data-dir': dir, listen }, { bootstrap: false });
    }
    const stackEvents: Json[] = await waitFor('the stack job to end', async () => {
      const events: Json[] = (await api('GET', `/api/v1/events/${apply.body.eventId}`)).body.events;
      return events.at(-1)?.status === 'running' ? undefined : events;
    });
    const log = stackEvents.map((e) => e.message);
    expect(log.filter((m) => m.includes('resuming (attempt'))).toEqual([
      'the Kloud running this stack job stopped; resuming (attempt 2 of 3)',
      'the Kloud running this stack job stopped; resuming (attempt 3 of 3)',
    ]);
    expect(stackEvents.at(-1)).toMatchObject({
      status: 'failed',
      message:
        'the Kloud running this stack job stopped and it cannot be resumed: its Kloud stopped 3 times; apply (or destroy) the stack again to finish it',
    });
    const build = await waitFor('the build to be failed', async () => {
      const s = (await api('GET', `/api/v1/machines/${machine.id}/state`)).body;
      return s.state === 'Building' ? undefined : s;
    });
    expect(build.state).toBe('NotInitialized');
    expect(build.stateReason).toMatch(/interrupted 3 times by Kloud restarts/);
    expect((await api('GET', '/api/v1/jobs?state=running')).body.items).toEqual([]);
    const machines = join(dir, 'machines');
    expect(existsSync(machines) ? readdirSync(machines) : []).toEqual([]);
  }, 180_000);
});
