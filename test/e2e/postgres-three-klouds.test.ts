/**
 * Past one machine (DESIGN §7): three `kloud serve` processes on one PostgreSQL, behind a load
 * balancer that is their shared public URL (machines reach Kloud through it). Klients' links
 * (and their tunnel data connections) go to the third process first, so a build run by another
 * process must wait for its Klient and run its provisioners over a link held elsewhere.
 *
 * A five-machine stack (db, cache; web after db; worker after db and cache; edge after web) is
 * applied through the first process, which is killed with SIGKILL while web and worker wait at
 * their provisioner. The others take over the interrupted builds and the stack job once their
 * leases lapse and finish everything: every machine Running with its provisioners run once to
 * the end, one instance each, no job left running, and the stack job's event log complete and in
 * order when read from a surviving process, and exactly what a subscriber on it saw live. Builds ran on more than one process (the jobs' holders).
 * A restart through the second process waits for the restarted Klient; destroying the stack
 * through it then leaves no machine directory or process.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesIn } from '../../packages/kloud/src/providers/local/processes.js';
import { type Balancer, startBalancer } from '../support/balancer.js';
import { freePort } from '../support/free-port.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import {
  type Api,
  apiClient,
  type Json,
  killEverythingIn,
  spawnKloud,
  streamedMessages,
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
  for (const k of children) k.child.kill('SIGKILL');
  await balancer?.close();
  await killEverythingIn(dir);
  await pg?.stop();
});

const names = ['db', 'cache', 'web', 'worker', 'edge'];

function template(gate: string) {
  const mark = (name: string) => ({ name: 'mark', run: `echo ${name} >> provisioned` });
  const wait = { name: 'wait', run: `while [ ! -e ${gate} ]; do sleep 0.05; done` };
  return {
    machines: {
      db: { provider: 'local', provisioners: [mark('db')] },
      cache: { provider: 'local', provisioners: [mark('cache')] },
      web: { provider: 'local', depends_on: ['db'], provisioners: [wait, mark('web')] },
      worker: { provider: 'local', depends_on: ['db', 'cache'], provisioners: [wait, mark('worker')] },
      edge: { provider: 'local', depends_on: ['web'], provisioners: [mark('edge')] },
    },
  };
}

async function buildJobs(api: Api, machineId: string): Promise<Json[]> {
  return (await api('GET', `/api/v1/jobs?machineId=${machineId}&kind=machine.build`)).body.items;
}

async function messages(api: Api, eventId: string): Promise<string[]> {
  return (await api('GET', `/api/v1/events/${eventId}`)).body.events.map((e: Json) => e.message);
}

describe('three Kloud processes on one PostgreSQL', () => {
  it('finish a stack apply whose Kloud was killed, with builds on several processes and nothing lost', async () => {
    const databaseUrl = await pg!.createDatabase('kloud_three');
    const ports = [await freePort(), await freePort(), await freePort()];
    // Klient links and tunnel data connections: the third process first, the others if it is down.
    const klientOrder = [ports[2]!, ports[1]!, ports[0]!];
    balancer = await startBalancer(ports, {
      route: (line) => (/^GET \/(klient\/register|tunnel\/)/.test(line) ? klientOrder : undefined),
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
      '--register-timeout-ms',
      '60000',
    ];
    // The first start creates the admin and the signing keys the others share (same data directory).
    const a = await spawnKloud(dir, ports[0]!, flags);
    children.push(a);
    const others = await Promise.all([spawnKloud(dir, ports[1]!, flags), spawnKloud(dir, ports[2]!, flags)]);
    children.push(...others);
    const token = a.token!;
    const direct = (port: number) => apiClient(() => `http://127.0.0.1:${port}`, token);
    const apiA = direct(ports[0]!);
    const apiB = direct(ports[1]!);

    const gate = join(dir, 'gate');
    const tpl = await apiA('POST', '/api/v1/stack-templates', {
      title: 'three',
      content: JSON.stringify(template(gate)),
    });
    const stack = (await apiA('POST', '/api/v1/stacks', { title: 'three', templateId: tpl.body.id })).body;
    const apply = await apiA('POST', `/api/v1/stacks/${stack.id}/apply`, {});
    expect(apply.status).toBe(202);
    const applyId: string = apply.body.eventId;
    // A subscriber on the second process from the start: it must see the whole log live, in order.
    const rpc = connect(`ws://127.0.0.1:${ports[1]}/api/v1/rpc`, token, { reconnect: false });
    const sub = await rpc.call('kloud.subscribe', { eventId: applyId });
    const live = streamedMessages(rpc, sub.streamId, (status) => status !== 'running');

    // Mid-way: db and cache built (by the first process, their Klients linked to the third), web
    // and worker waiting at their provisioner, edge not started.
    const machineIds = await waitFor('web and worker at their gate', async () => {
      const ms: Json[] = (await apiA('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines;
      const byName = new Map(ms.map((m) => [m.name, m.id as string]));
      for (const name of ['web', 'worker']) {
        const id = byName.get(name);
        const job = id && (await buildJobs(apiA, id))[0];
        if (!job || !(await messages(apiA, job.id)).includes('running provisioner wait (1/2)'))
          return undefined;
      }
      return byName;
    });
    const before = (await apiA('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines;
    expect(
      Object.fromEntries(before.map((m: Json) => [m.name, m.state])),
      'the kill lands mid-way through the apply',
    ).toEqual({ db: 'Running', cache: 'Running', web: 'Building', worker: 'Building' });

    // Built by the first process, linked to the third: the wait and the provisioners crossed processes.
    for (const name of ['db', 'cache']) {
      const m = (await apiA('GET', `/api/v1/machines/${machineIds.get(name)}`)).body;
      expect(m.registry.linkHolder, name).toBe(`http://127.0.0.1:${ports[2]}`);
    }
    expect(
      new Set(
        await Promise.all(
          ['db', 'cache'].map(async (n) => (await buildJobs(apiA, machineIds.get(n)!))[0].claimedBy),
        ),
      ).size,
    ).toBe(1);

    a.child.kill('SIGKILL');
    await new Promise((resolve) => a.child.once('exit', resolve));
    writeFileSync(gate, '');

    const stackEvents: Json[] = await waitFor(
      'the stack job to end on a surviving process',
      async () => {
        const events: Json[] = (await apiB('GET', `/api/v1/events/${applyId}`)).body.events;
        return events.at(-1)?.status === 'running' ? undefined : events;
      },
      120_000,
    );
    const log = stackEvents.map((e) => e.message);
    expect(log.at(-1), log.join('\n')).toBe('stack applied');
    expect(await live, 'what the subscriber saw live').toEqual(log);
    rpc.close();
    // Complete and in order: stored order is seq order; each step starts once, ends once, after
    // what it depends on; the takeover is recorded once.
    const seqs = stackEvents.map((e) => e.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(log[0]).toBe(`applying 5 change(s) to stack ${stack.id}`);
    expect(
      log.filter((m) => m.startsWith('the Kloud running this stack job stopped; resuming')),
    ).toHaveLength(1);
    for (const name of names) {
      expect(
        log.filter((m) => m === `${name}: create (not in the stack yet)`),
        name,
      ).toHaveLength(1);
      expect(
        log.filter((m) => m === `${name}: create done`),
        name,
      ).toHaveLength(1);
    }
    const at = (m: string) => log.indexOf(m);
    for (const [name, deps] of [
      ['web', ['db']],
      ['worker', ['db', 'cache']],
      ['edge', ['web']],
    ] as const)
      for (const dep of deps)
        expect(at(`${dep}: create done`), `${dep} before ${name}`).toBeLessThan(
          at(`${name}: create (not in the stack yet)`),
        );
    // web and worker were under way when their Kloud died: resumed, not asked for again.
    for (const name of ['web', 'worker'])
      expect(at(`${name}: create resumed`)).toBeGreaterThan(
        at('the Kloud running this stack job stopped; resuming (attempt 2 of 3)'),
      );

    // Online as seen from the second process, which holds no link: from the store's records.
    const after: Json[] = await waitFor('every machine online at the second process', async () => {
      const ms: Json[] = (await apiB('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines;
      return ms.every((m) => m.online) ? ms : undefined;
    });
    expect(after.map((m) => m.name).sort()).toEqual([...names].sort());
    for (const m of after) expect(m, m.name).toMatchObject({ state: 'Running', online: true });

    // One build job per machine, each ended; the interrupted ones resumed by another process.
    const holders = new Set<string>();
    for (const name of names) {
      const jobs = await buildJobs(apiB, machineIds.get(name) ?? after.find((m) => m.name === name).id);
      expect(jobs, name).toHaveLength(1);
      expect(jobs[0].state, name).toBe('done');
      holders.add(jobs[0].claimedBy);
      const events = await messages(apiB, jobs[0].id);
      expect(events[0]).toBe('build started (NotInitialized → Building)');
      expect(events.at(-1)).toBe('build completed');
      if (name === 'web' || name === 'worker')
        expect(events).toContain('Kloud restarted during build; resuming (attempt 2 of 3)');
    }
    expect(holders.size, 'builds ran on more than one Kloud process').toBeGreaterThan(1);
    expect((await apiB('GET', '/api/v1/jobs?state=running')).body.items).toEqual([]);
    // One instance per machine (resumed creates are idempotent), no machine record twice.
    expect(readdirSync(join(dir, 'machines'))).toHaveLength(5);

    // Each machine's provisioners ran to the end, seen through a surviving Kloud.
    for (const m of after) {
      const grant = (await apiB('POST', `/api/v1/machines/${m.id}/token`, {})).body;
      const rpc = connect(`ws://127.0.0.1:${ports[1]}/machines/${m.id}/klient`, grant.token, {
        reconnect: false,
      });
      try {
        const out = await rpc.call('exec.run', { command: 'cat provisioned' });
        expect(out.stdout.trim().split('\n').at(-1), m.name).toBe(m.name);
      } finally {
        rpc.close();
      }
    }

    // A restart through the second process: the third drops the old link when asked, and the
    // restart ends once the restarted Klient linked again (not on the old link's record).
    const edge = after.find((m) => m.name === 'edge');
    const restart = await apiB('POST', `/api/v1/machines/${edge.id}/restart`);
    expect(restart.status).toBe(202);
    const restarted = await waitFor('edge restarted', async () => {
      const events: Json[] = (await apiB('GET', `/api/v1/events/${restart.body.eventId}`)).body.events;
      return events.at(-1)?.status === 'Rebooting' ? undefined : events.map((e) => e.message);
    });
    expect(restarted.at(-1)).toBe('restart completed');
    // The old link's record was cleared and heartbeats do not bring a cleared record back: the
    // machine reads online again only because the restarted Klient linked anew.
    const edgeNow = (await apiB('GET', `/api/v1/machines/${edge.id}`)).body;
    expect(edgeNow.registry).toMatchObject({ online: true, linkHolder: `http://127.0.0.1:${ports[2]}` });

    // Destroy through the second process (the links are held by the third): nothing is left.
    const destroy = await apiB('POST', `/api/v1/stacks/${stack.id}/destroy`);
    expect(destroy.status).toBe(202);
    await waitFor('the stack destroyed', async () => {
      const events: Json[] = (await apiB('GET', `/api/v1/events/${destroy.body.eventId}`)).body.events;
      return events.at(-1)?.status === 'running' ? undefined : events.at(-1);
    });
    const gone: Json[] = (await apiB('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines;
    for (const m of gone) expect(m, m.name).toMatchObject({ state: 'Terminated', online: false });
    const machinesDir = join(dir, 'machines');
    expect(existsSync(machinesDir) ? readdirSync(machinesDir) : []).toEqual([]);
    expect(await processesIn(machinesDir)).toEqual([]);
    expect((await apiB('GET', '/api/v1/jobs?state=running')).body.items).toEqual([]);
  }, 240_000);
});
