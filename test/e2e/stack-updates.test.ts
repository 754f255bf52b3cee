/**
 * Applying a changed stack: a provisioner change on a running machine reprovisions it in place,
 * an instance field change replaces the machine (destroy, then build anew), a machine removed
 * from the template is destroyed — each shown by plan first, then done by apply.
 */
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, startTestKloud, type TestKloud } from './harness.js';

let t: TestKloud;

beforeAll(async () => {
  t = await startTestKloud();
});
afterAll(async () => {
  await t?.cleanup();
});

const template = (generation: number, withCache: boolean) => `
variables:
  greeting: { default: hello }
machines:
  app:
    provider: local
    extra: { generation: ${generation} }
    provisioners:
      - name: greet
        run: echo "\${var.greeting}" > greeting.txt
${withCache ? '  cache:\n    provider: local\n' : ''}`;

async function apply(stackId: string, body: Json = {}) {
  const accepted = await t.api('POST', `/api/v1/stacks/${stackId}/apply`, body);
  expect(accepted.status).toBe(202);
  await t.kloud.stacks.settled(accepted.body.eventId);
  const events = (await t.api('GET', `/api/v1/events/${accepted.body.eventId}`)).body.events;
  expect(events.at(-1)).toMatchObject({ status: 'done' });
  return (await t.api('GET', `/api/v1/stacks/${stackId}/describe`)).body.machines as Json[];
}

async function run(machineId: string, command: string): Promise<string> {
  const grant = (await t.api('POST', `/api/v1/machines/${machineId}/token`, {})).body;
  const client = connect(grant.url, grant.token, { reconnect: false });
  try {
    return (await client.call('exec.run', { command })).stdout;
  } finally {
    client.close();
  }
}

const actions = (plan: Json) => Object.fromEntries(plan.actions.map((a: Json) => [a.machine, a.action]));

describe('stack updates', () => {
  it('reprovisions, replaces and destroys as the plan says', async () => {
    const tpl = await t.kloud.store.templates.create({ title: 'upd', content: template(1, true) }, t.adminId);
    const stack = await t.kloud.store.stacks.create({ title: 'upd', templateId: tpl.id }, t.adminId);
    const first = await apply(stack.id);
    const app = first.find((m) => m.name === 'app');
    expect(await run(app.id, 'cat greeting.txt')).toBe('hello\n');

    const plan1 = (
      await t.api('POST', `/api/v1/stacks/${stack.id}/plan`, { variables: { greeting: 'bonjour' } })
    ).body;
    expect(actions(plan1)).toEqual({ app: 'reprovision', cache: 'none' });
    expect(plan1.actions[0].changes).toEqual([{ field: 'provisioners', from: ['greet'], to: ['greet'] }]);
    await apply(stack.id, { variables: { greeting: 'bonjour' } });
    expect(await run(app.id, 'cat greeting.txt')).toBe('bonjour\n');

    await t.kloud.store.templates.update(tpl.id, { content: template(2, false) }, undefined, t.adminId);
    const plan2 = (await t.api('POST', `/api/v1/stacks/${stack.id}/plan`, {})).body;
    expect(actions(plan2)).toEqual({ app: 'replace', cache: 'destroy' });
    expect(plan2.actions[0].changes).toContainEqual({
      field: 'extra',
      from: { generation: 1 },
      to: { generation: 2 },
    });
    const after = await apply(stack.id);
    const byName = Object.fromEntries(after.map((m) => [m.name, m]));
    expect(byName.cache.state).toBe('Terminated');
    expect(byName.app).toMatchObject({ id: app.id, state: 'Running' });
    expect(byName.app.kiteId).not.toBe(app.kiteId);
    expect(await run(app.id, 'cat greeting.txt')).toBe('hello\n');
    expect((await t.api('POST', `/api/v1/stacks/${stack.id}/plan`, {})).body.empty).toBe(true);
  }, 180_000);
});
