/**
 * The whole path with real processes: a stack template → plan → apply → a local machine
 * Running with its own Klient registered through the outbound link → exec and a terminal
 * through Kloud's tunnel → stop → start → destroy → no process and no directory left.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesIn } from '../../packages/kloud/src/providers/local/processes.js';
import { type Json, machineLogs, startTestKloud, type TestKloud } from './harness.js';

const template = `
variables:
  greeting: { default: hello }
machines:
  db:
    provider: local
    provisioners:
      - name: marker
        run: echo "\${var.greeting} from db" > marker.txt
  web:
    provider: local
    depends_on: [db]
    provisioners:
      - name: env
        run: echo "machine=$KLOUD_MACHINE_LABEL stage=$STAGE" > env.txt
`;

let t: TestKloud;

beforeAll(async () => {
  t = await startTestKloud();
});
afterAll(async () => {
  await t?.cleanup();
});

async function settledStack(eventId: string): Promise<Json[]> {
  await t.kloud.stacks.settled(eventId);
  const { body } = await t.api('GET', `/api/v1/events/${eventId}`);
  if (body.events.at(-1).status !== 'done')
    throw new Error(`${JSON.stringify(body.events.at(-1))}\n${machineLogs(t.dir)}`);
  return body.events;
}

async function settledMachine(machineId: string, eventId: string) {
  await t.kloud.lifecycle.settled(eventId);
  return (await t.api('GET', `/api/v1/machines/${machineId}/state`)).body;
}

async function textOf(reader: AsyncIterable<unknown>, until: (text: string) => boolean): Promise<string> {
  let text = '';
  for await (const chunk of reader) {
    const event = chunk as { type: string; data?: string; screen?: string };
    text += event.type === 'output' ? event.data : event.type === 'screen' ? event.screen : '';
    if (until(text)) return text;
  }
  return text;
}

describe('a stack on the local provider, end to end', () => {
  it('plans, applies, reaches a registered Klient through the tunnel, stops, starts and destroys without leftovers', async () => {
    const tpl = await t.kloud.store.templates.create({ title: 'web+db', content: template }, t.adminId);
    const stack = await t.kloud.store.stacks.create(
      { title: 'e2e', templateId: tpl.id, config: { STAGE: 'test' } },
      t.adminId,
    );

    const plan = await t.api('POST', `/api/v1/stacks/${stack.id}/plan`, {});
    expect(plan.status).toBe(200);
    expect(plan.body.actions.map((a: Json) => [a.machine, a.action])).toEqual([
      ['db', 'create'],
      ['web', 'create'],
    ]);

    const apply = await t.api('POST', `/api/v1/stacks/${stack.id}/apply`, {});
    expect(apply.status).toBe(202);
    const events = await settledStack(apply.body.eventId);
    expect(events.at(-1).status).toBe('done');
    // Dependency order: db finished before web started.
    const messages = events.map((e: Json) => e.message);
    expect(messages.indexOf('db: create done')).toBeLessThan(
      messages.findIndex((m: string) => m.startsWith('web: create (')),
    );

    const described = await t.api('GET', `/api/v1/stacks/${stack.id}/describe`);
    const web = described.body.machines.find((m: Json) => m.name === 'web');
    expect(web).toMatchObject({ state: 'Running', online: true });
    expect((await t.api('POST', `/api/v1/stacks/${stack.id}/plan`, {})).body.empty).toBe(true);

    // Through Kloud: the token's URL is the tunnel; the Klient behind it only connected out.
    const grant = await t.api('POST', `/api/v1/machines/${web.id}/token`, {});
    expect(grant.status).toBe(200);
    expect(grant.body.url).toBe(`${t.kloud.url.replace('http', 'ws')}/machines/${web.id}/klient`);
    const client = connect(grant.body.url, grant.body.token, { reconnect: false });
    try {
      expect((await client.call('klient.ping', {})).pong).toBe(true);
      const env = await client.call('exec.run', { command: 'cat env.txt' });
      expect(env.stdout).toBe(`machine=${web.label} stage=test\n`);
      const session = await client.call('terminal.create', { cols: 80, rows: 24 });
      const attached = await client.call('terminal.attach', { sessionId: session.id });
      const reader = client.openReader(attached.streamId);
      await client.call('terminal.input', { sessionId: session.id, data: 'echo tunnel-$((6*7))\r' });
      expect(await textOf(reader, (s) => s.includes('tunnel-42'))).toContain('tunnel-42');
      await client.call('terminal.kill', { sessionId: session.id });
    } finally {
      client.close();
    }
    // Binary stream frames cross the tunnel untouched: an 8 MiB random file, hashed both ends.
    const files = connect(grant.body.url, grant.body.token, { reconnect: false });
    try {
      const made = await files.call('exec.run', {
        command: 'head -c 8388608 /dev/urandom > big.bin && sha256sum big.bin',
      });
      const read = await files.call('fs.readFile', { path: 'big.bin', stream: true });
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of files.openReader(read.streamId!)) {
        hash.update(chunk as Uint8Array);
        bytes += (chunk as Uint8Array).byteLength;
      }
      expect(bytes).toBe(8388608);
      expect(made.stdout.split(' ')[0]).toBe(hash.digest('hex'));
    } finally {
      files.close();
    }
    // And directly, with the same token, at the Klient's own address.
    const direct = connect(grant.body.directUrl, grant.body.token, { reconnect: false });
    try {
      expect(
        (await direct.call('exec.run', { command: 'cat env.txt' }, { timeoutMs: 30_000 })).stdout,
      ).toContain('stage=test');
    } finally {
      direct.close();
    }

    const dir = join(t.dir, 'machines');
    const stop = await t.api('POST', `/api/v1/machines/${web.id}/stop`);
    expect(stop.status).toBe(202);
    expect(await settledMachine(web.id, stop.body.eventId)).toMatchObject({
      state: 'Stopped',
      online: false,
    });
    const start = await t.api('POST', `/api/v1/machines/${web.id}/start`);
    expect(await settledMachine(web.id, start.body.eventId)).toMatchObject({
      state: 'Running',
      online: true,
    });

    const destroyed = await t.api('POST', `/api/v1/stacks/${stack.id}/destroy`);
    expect(destroyed.status).toBe(202);
    expect((await settledStack(destroyed.body.eventId)).at(-1).status).toBe('done');
    const after = await t.api('GET', `/api/v1/stacks/${stack.id}/describe`);
    expect(after.body.machines.map((m: Json) => m.state)).toEqual(['Terminated', 'Terminated']);
    expect(await processesIn(dir)).toEqual([]);
    for (const m of after.body.machines) expect(existsSync(join(dir, m.id))).toBe(false);
    expect(
      await t.kloud.providers.get('local')!.listTagged({ id: 'local', provider: 'local', secret: {} }),
    ).toEqual([]);
  }, 180_000);

  it('builds a machine created through the REST API from its meta and stored provisioners', async () => {
    const provisioner = await t.api('POST', '/api/v1/provisioners', {
      name: 'hello',
      content: 'echo "hi from $KLOUD_MACHINE_LABEL" > hi.txt',
    });
    expect(provisioner.status).toBe(201);
    const created = await t.api('POST', '/api/v1/machines', {
      provider: 'local',
      label: 'rest-made',
      provisioners: [provisioner.body.id],
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const build = await t.api('POST', `/api/v1/machines/${id}/build`);
    expect(build.status).toBe(202);
    expect(await settledMachine(id, build.body.eventId)).toMatchObject({ state: 'Running', online: true });
    const grant = (
      await t.api('POST', `/api/v1/machines/${id}/token`, { scope: 'user', expiresInSeconds: 60 })
    ).body;
    const client = connect(grant.url, grant.token, { reconnect: false });
    try {
      expect((await client.call('exec.run', { command: 'cat hi.txt' })).stdout).toBe('hi from rest-made\n');
    } finally {
      client.close();
    }
    // Restart: a new Klient process, registered again, the same files.
    const pidBefore = ((await t.kloud.store.machines.get(id))!.meta.provider as { pid?: number }).pid;
    const restart = await t.api('POST', `/api/v1/machines/${id}/restart`);
    expect(await settledMachine(id, restart.body.eventId)).toMatchObject({ state: 'Running', online: true });
    const pidAfter = ((await t.kloud.store.machines.get(id))!.meta.provider as { pid?: number }).pid;
    expect(pidAfter).toBeGreaterThan(0);
    expect(pidAfter).not.toBe(pidBefore);
    const again = connect(grant.url, grant.token, { reconnect: false });
    try {
      expect((await again.call('exec.run', { command: 'cat hi.txt' })).stdout).toBe('hi from rest-made\n');
    } finally {
      again.close();
    }
    // A process a user started elsewhere, in its own session, still belongs to the machine.
    const instanceId = (await t.kloud.store.machines.get(id))!.instanceId!;
    const stray = connect(grant.url, grant.token, { reconnect: false });
    try {
      await stray.call('exec.run', { command: 'cd / && setsid sleep 1000 </dev/null >/dev/null 2>&1 &' });
    } finally {
      stray.close();
    }
    const strays = await processesIn('/nonexistent', instanceId);
    expect(strays.length).toBeGreaterThanOrEqual(2);
    const destroy = await t.api('POST', `/api/v1/machines/${id}/destroy`);
    expect(await settledMachine(id, destroy.body.eventId)).toMatchObject({
      state: 'Terminated',
      online: false,
    });
    expect(await processesIn('/nonexistent', instanceId)).toEqual([]);
    const left = await t.kloud.providers
      .get('local')!
      .listTagged({ id: 'local', provider: 'local', secret: {} });
    expect(left.filter((i) => i.machineId === id)).toEqual([]);
  }, 120_000);
});
