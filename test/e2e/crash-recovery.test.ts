/**
 * `kill -9` of Kloud in the middle of a build. Kloud runs as its own process (`kloud serve`);
 * the build is held at a known step by a provisioner that waits for a file. After the restart
 * on the same data directory and port, the machine is not stuck in Building: the job is taken
 * over and resumed (the Klient it started reconnects by itself; create is idempotent, so no
 * second instance appears), and the machine ends Running with exactly one instance; the stack
 * job is resumed as well and ends applied, its event log complete and in order.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  gatedMachine,
  type Json,
  killEverythingIn,
  spawnKloud,
  tempDataDir,
  waitFor,
} from './harness.js';

const dir = tempDataDir();
let current: Awaited<ReturnType<typeof spawnKloud>> | undefined;

afterAll(async () => {
  current?.child.kill('SIGKILL');
  await killEverythingIn(dir);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('Kloud killed with SIGKILL during a stack apply', () => {
  it('resumes the build and the stack job after a restart: not stuck, one instance, Klient back online', async () => {
    const port = await freePort();
    current = await spawnKloud(dir, port);
    const token = current.token!;
    const api = apiClient(() => current!.url, token);

    // A one-machine stack whose build waits at its provisioner until the test opens the gate.
    const gate = join(dir, 'gate');
    const template = await api('POST', '/api/v1/stack-templates', {
      title: 'crash',
      content: JSON.stringify({ machines: { m: gatedMachine(gate) } }),
    });
    const stack = (await api('POST', '/api/v1/stacks', { title: 'crash', templateId: template.body.id }))
      .body;
    const apply = await api('POST', `/api/v1/stacks/${stack.id}/apply`, {});
    expect(apply.status).toBe(202);
    const machine = await waitFor('the machine record', async () => {
      const m = (await api('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines[0];
      return m?.state === 'Building' ? m : undefined;
    });
    const buildEventId: string = await waitFor(
      'the build job',
      async () => (await api('GET', `/api/v1/machines/${machine.id}/events`)).body.items[0]?.eventId,
    );
    await waitFor('the build to reach its provisioner', async () => {
      const { body } = await api('GET', `/api/v1/events/${buildEventId}`);
      return body.events.some((e: Json) => e.message.startsWith('running provisioner wait'))
        ? true
        : undefined;
    });

    current.child.kill('SIGKILL');
    await new Promise((r) => current!.child.once('exit', r));
    current = await spawnKloud(dir, port);
    const during = (await api('GET', `/api/v1/machines/${machine.id}/state`)).body;
    expect(during.state).toBe('Building');

    writeFileSync(gate, '');
    const done = await waitFor('the resumed build to end', async () => {
      const s = (await api('GET', `/api/v1/machines/${machine.id}/state`)).body;
      return s.state === 'Building' ? undefined : s;
    });
    expect(done).toMatchObject({ state: 'Running', online: true });
    const events = (await api('GET', `/api/v1/events/${buildEventId}`)).body.events.map(
      (e: Json) => e.message,
    );
    expect(events).toContain('Kloud restarted during build; resuming (attempt 2 of 3)');
    expect(events.at(-1)).toBe('build completed');
    expect(readdirSync(join(dir, 'machines'))).toHaveLength(1);
    // The stack job is taken over too: it resumes where it was (the machine's step under way,
    // its build found by the step that asked for it, not asked for again) and ends applied.
    const stackEvents = await waitFor('the resumed stack job to end', async () => {
      const { body } = await api('GET', `/api/v1/events/${apply.body.eventId}`);
      return body.events.at(-1)?.status === 'running' ? undefined : body.events;
    });
    expect(stackEvents.map((e: Json) => e.message)).toEqual([
      `applying 1 change(s) to stack ${stack.id}`,
      'm: create (not in the stack yet)',
      'the Kloud running this stack job stopped; resuming (attempt 2 of 3)',
      'm: create resumed',
      'm: create done',
      'stack applied',
    ]);
    const jobs = (await api('GET', `/api/v1/jobs?machineId=${machine.id}`)).body.items;
    expect(jobs.map((j: Json) => j.kind)).toEqual(['machine.build']);
    expect((await api('POST', `/api/v1/stacks/${stack.id}/plan`, {})).body.empty).toBe(true);

    const destroy = await api('POST', `/api/v1/machines/${machine.id}/destroy`);
    await waitFor('destroyed', async () => {
      const s = (await api('GET', `/api/v1/machines/${machine.id}/state`)).body;
      return s.state === 'Terminated' ? s : undefined;
    });
    expect(destroy.status).toBe(202);
    expect(readdirSync(join(dir, 'machines'))).toEqual([]);
  }, 180_000);
});
