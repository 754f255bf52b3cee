/**
 * A Kloud that stalls past its lease (SIGSTOP: as a process frozen by the host, or cut off from
 * the database) stops its jobs when it runs again, and never finishes them a second time.
 *
 * Two `kloud serve` processes on one PostgreSQL behind a balancer (Klients link to the second).
 * A stack apply through the first holds its build at a provisioner; the first is stopped with
 * SIGSTOP; the second takes the build and the stack job over once their leases lapse and finishes
 * both. Then the first is continued: it notices it lost both claims and stops both jobs without
 * writing anything for them — one takeover, one `build completed`, one `stack applied` in the
 * logs — and goes on serving.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Balancer, startBalancer } from '../support/balancer.js';
import { freePort } from '../support/free-port.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import {
  apiClient,
  gatedMachine,
  type Json,
  killEverythingIn,
  spawnKloud,
  tempDataDir,
  waitFor,
} from './harness.js';

let pg: TestPostgres | undefined;
let balancer: Balancer | undefined;
const dir = tempDataDir();
const children: Array<Awaited<ReturnType<typeof spawnKloud>>> = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const k of children) {
    k.child.kill('SIGCONT');
    k.child.kill('SIGKILL');
  }
  await balancer?.close();
  await killEverythingIn(dir);
  await pg?.stop();
});

describe('a Kloud stalled past its lease', () => {
  it('stops its jobs when it runs again; another finished them, once', async () => {
    const databaseUrl = await pg!.createDatabase('kloud_fencing');
    const ports = [await freePort(), await freePort()];
    balancer = await startBalancer(ports, {
      route: (line) => (/^GET \/(klient\/register|tunnel\/)/.test(line) ? [ports[1]!, ports[0]!] : undefined),
    });
    const flags = [
      '--database-url',
      databaseUrl,
      '--public-url',
      balancer.url,
      '--lease-ms',
      '1500',
      '--sweep-ms',
      '300',
      '--heartbeat-ms',
      '1000',
    ];
    const a = await spawnKloud(dir, ports[0]!, flags);
    children.push(a);
    children.push(await spawnKloud(dir, ports[1]!, flags));
    let aLog = '';
    a.child.stderr!.on('data', (d) => {
      aLog += d;
    });
    const apiA = apiClient(() => `http://127.0.0.1:${ports[0]}`, a.token!);
    const apiB = apiClient(() => `http://127.0.0.1:${ports[1]}`, a.token!);

    const gate = join(dir, 'gate');
    const tpl = await apiA('POST', '/api/v1/stack-templates', {
      title: 'fenced',
      content: JSON.stringify({ machines: { m: gatedMachine(gate) } }),
    });
    const stack = (await apiA('POST', '/api/v1/stacks', { title: 'fenced', templateId: tpl.body.id })).body;
    const apply = (await apiA('POST', `/api/v1/stacks/${stack.id}/apply`, {})).body;
    const buildId: string = await waitFor('the build at its provisioner', async () => {
      const m = (await apiA('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines[0];
      const job = m && (await apiA('GET', `/api/v1/jobs?machineId=${m.id}&kind=machine.build`)).body.items[0];
      if (!job) return undefined;
      const events: Json[] = (await apiA('GET', `/api/v1/events/${job.id}`)).body.events;
      return events.some((e) => e.message === 'running provisioner wait (1/1)') ? job.id : undefined;
    });
    const messages = async (eventId: string): Promise<string[]> =>
      (await apiB('GET', `/api/v1/events/${eventId}`)).body.events.map((e: Json) => e.message);

    a.child.kill('SIGSTOP');
    await waitFor('the second Kloud to take both jobs over', async () =>
      (await messages(buildId)).includes('Kloud restarted during build; resuming (attempt 2 of 3)') &&
      (await messages(apply.eventId)).some((m) => m.includes('resuming (attempt 2 of 3)'))
        ? true
        : undefined,
    );
    writeFileSync(gate, '');
    await waitFor('the stack applied by the second Kloud', async () =>
      (await messages(apply.eventId)).includes('stack applied') ? true : undefined,
    );

    a.child.kill('SIGCONT');
    // Pino writes one JSON line per entry; both jobs are reported stopped, never finished.
    await waitFor('the first Kloud to stop both jobs', async () =>
      /"msg":"job stopped without finishing"/.test(aLog) &&
      /"msg":"stack job stopped without finishing"/.test(aLog)
        ? true
        : undefined,
    );
    const build = await messages(buildId);
    expect(build.filter((m) => m.includes('resuming'))).toEqual([
      'Kloud restarted during build; resuming (attempt 2 of 3)',
    ]);
    expect(build.filter((m) => m === 'build completed' || m.startsWith('build failed'))).toEqual([
      'build completed',
    ]);
    expect(build.at(-1)).toBe('build completed');
    const stackLog = await messages(apply.eventId);
    expect(stackLog.filter((m) => m === 'stack applied' || m.startsWith('stack apply failed'))).toEqual([
      'stack applied',
    ]);
    expect(stackLog.at(-1)).toBe('stack applied');
    const jobs: Json[] = (await apiB('GET', '/api/v1/jobs?kind=machine.build')).body.items;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: buildId, state: 'done', attempts: 2 });
    expect((await apiB('GET', '/api/v1/jobs?state=running')).body.items).toEqual([]);
    expect(readdirSync(join(dir, 'machines'))).toHaveLength(1);

    // The first Kloud goes on serving: it destroys the stack.
    const destroy = (await apiA('POST', `/api/v1/stacks/${stack.id}/destroy`)).body;
    await waitFor('the stack destroyed', async () =>
      (await messages(destroy.eventId)).includes('stack applied') ? true : undefined,
    );
    expect(readdirSync(join(dir, 'machines'))).toEqual([]);
  }, 180_000);
});
