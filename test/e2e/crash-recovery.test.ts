/**
 * `kill -9` of Kloud in the middle of a build. Kloud runs as its own process (`kloud serve`);
 * the build is held at a known step by a provisioner that waits for a file. After the restart
 * on the same data directory and port, the machine is not stuck in Building: the job is taken
 * over and resumed (the Klient it started reconnects by itself; create is idempotent, so no
 * second instance appears), and the machine ends Running with exactly one instance.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { openStore } from '@kk/backend/store/store.js';
import { afterAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  gatedMachine,
  type Json,
  killEverythingIn,
  machineSpec,
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

describe('Kloud killed with SIGKILL during a build', () => {
  it('resumes the build after a restart: not stuck, one instance, Klient back online', async () => {
    const port = await freePort();
    current = await spawnKloud(dir, port);
    const token = current.token!;
    const api = apiClient(() => current!.url, token);

    // Set up the machine record the way stack apply would (the API for templates is the backend's).
    const gate = join(dir, 'gate');
    const spec = machineSpec(gatedMachine(gate));
    const store = await openStore({ dataDir: dir });
    const admin = (await store.users.byUsername('admin'))!;
    const machine = await store.machines.create(
      { provider: 'local', label: 'crashy', meta: { spec } },
      admin,
    );
    await store.close();

    const build = await api('POST', `/api/v1/machines/${machine.id}/build`);
    expect(build.status).toBe(202);
    await waitFor('the build to reach its provisioner', async () => {
      const { body } = await api('GET', `/api/v1/events/${build.body.eventId}`);
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
    const events = (await api('GET', `/api/v1/events/${build.body.eventId}`)).body.events.map(
      (e: Json) => e.message,
    );
    expect(events).toContain('Kloud restarted during build; resuming (attempt 2 of 3)');
    expect(events.at(-1)).toBe('build completed');
    expect(readdirSync(join(dir, 'machines'))).toHaveLength(1);

    const destroy = await api('POST', `/api/v1/machines/${machine.id}/destroy`);
    await waitFor('destroyed', async () => {
      const s = (await api('GET', `/api/v1/machines/${machine.id}/state`)).body;
      return s.state === 'Terminated' ? s : undefined;
    });
    expect(destroy.status).toBe(202);
    expect(readdirSync(join(dir, 'machines'))).toEqual([]);
  }, 180_000);
});
