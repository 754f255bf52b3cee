/** Stacks, machines, sharing, jobs and events over HTTP. */
import { afterAll, describe, expect, it } from 'vitest';
import { type ApiWorld, apiHarness } from '../testing/api.js';

const { harness, world } = apiHarness();
afterAll(() => harness.teardown());

async function owners(w: ApiWorld) {
  return { ada: await w.newUser('ada'), bob: await w.newUser('bob'), eve: await w.newUser('eve') };
}

describe('stacks', () => {
  it('creates stacks from readable templates only, keeps them to their owner, and validates config names', async () => {
    const w = await world();
    const { ada, bob } = await owners(w);
    const privateTemplate = await w.call(bob, 'POST', '/api/v1/stack-templates', {
      title: 'bob only',
      content: 'x',
    });
    const publicTemplate = await w.call(bob, 'POST', '/api/v1/stack-templates', {
      title: 'shared',
      content: 'y',
      accessLevel: 'public',
    });
    expect(
      (await w.call(ada, 'POST', '/api/v1/stacks', { title: 's', templateId: privateTemplate.body.id }))
        .status,
    ).toBe(404);
    expect(
      (await w.call(ada, 'POST', '/api/v1/stacks', { title: 's', config: { 'not a name': 'v' } })).status,
    ).toBe(400);
    const stack = await w.call(ada, 'POST', '/api/v1/stacks', {
      title: 'dev',
      templateId: publicTemplate.body.id,
      config: { API_URL: 'https://x' },
    });
    expect(stack.status).toBe(201);
    expect(stack.body).toMatchObject({
      ownerId: ada.user.id,
      templateId: publicTemplate.body.id,
      config: { API_URL: 'https://x' },
    });
    expect((await w.call(bob, 'GET', `/api/v1/stacks/${stack.body.id}`)).status).toBe(404);
    expect((await w.call(bob, 'GET', '/api/v1/stacks')).body.items).toEqual([]);
    expect(
      (await w.call(ada, 'GET', `/api/v1/stacks?templateId=${publicTemplate.body.id}`)).body.items,
    ).toHaveLength(1);
    expect((await w.call(w.admin, 'GET', `/api/v1/stacks/${stack.body.id}`)).status).toBe(200);
    expect(
      (await w.call(bob, 'DELETE', `/api/v1/stacks/${stack.body.id}`, undefined, { 'if-match': '*' })).status,
    ).toBe(404);
    expect(
      (await w.call(ada, 'DELETE', `/api/v1/stacks/${stack.body.id}`, undefined, { 'if-match': '"v1"' }))
        .status,
    ).toBe(204);
  });
});

describe('machines', () => {
  it('creates a machine with a Koding uid, refuses references the caller may not use, and filters lists', async () => {
    const w = await world();
    const { ada, bob } = await owners(w);
    const bobsCred = await w.call(bob, 'POST', '/api/v1/credentials', {
      provider: 'aws',
      title: 'b',
      data: { k: 'v' },
    });
    const bobsStack = await w.call(bob, 'POST', '/api/v1/stacks', { title: 'b' });
    const bobsScript = await w.call(bob, 'POST', '/api/v1/provisioners', { name: 'p', content: 'x' });
    for (const ref of [
      { credentialId: bobsCred.body.id },
      { stackId: bobsStack.body.id },
      { provisioners: [bobsScript.body.id] },
    ]) {
      expect(
        (await w.call(ada, 'POST', '/api/v1/machines', { provider: 'aws', label: 'x', ...ref })).status,
      ).toBe(404);
    }
    await w.call(bob, 'PUT', `/api/v1/credentials/${bobsCred.body.id}/shares`, {
      targetType: 'user',
      targetId: ada.user.id,
      level: 'user',
    });
    const group = await w.call(ada, 'POST', '/api/v1/groups', { slug: 'koding' });
    const made = await w.call(ada, 'POST', '/api/v1/machines', {
      provider: 'aws',
      label: 'web',
      meta: { region: 'eu-west-1', size: 't3.small' },
      credentialId: bobsCred.body.id,
      groupId: group.body.id,
    });
    expect(made.status).toBe(201);
    expect(made.body.uid).toMatch(/^uaka[0-9a-f]{8}$/);
    expect(made.body).toMatchObject({
      status: { state: 'NotInitialized' },
      access: 'owner',
      registry: { online: false },
    });
    await w.call(ada, 'POST', '/api/v1/machines', { provider: 'local', label: 'box' });
    expect((await w.call(ada, 'GET', `/api/v1/machines/${made.body.uid}`)).body.id).toBe(made.body.id);
    expect(
      (await w.call(ada, 'GET', '/api/v1/machines?provider=local')).body.items.map(
        (m: { label: string }) => m.label,
      ),
    ).toEqual(['box']);
    expect((await w.call(ada, 'GET', '/api/v1/machines?state=Running')).body.items).toEqual([]);
    expect((await w.call(ada, 'GET', '/api/v1/machines?state=Flying')).status).toBe(400);
    expect((await w.call(bob, 'GET', `/api/v1/machines/${made.body.id}`)).status).toBe(404);
  });

  it('shares a machine with users (readonly or not) and keeps changes to the owner', async () => {
    const w = await world();
    const { ada, bob, eve } = await owners(w);
    const m = await w.call(ada, 'POST', '/api/v1/machines', { provider: 'local', label: 'box' });
    const url = `/api/v1/machines/${m.body.id}`;
    const shared = await w.call(ada, 'PUT', `${url}/users/${bob.user.id}`, {
      readonly: true,
      permanent: true,
    });
    expect(shared.body.users).toEqual([{ userId: bob.user.id, readonly: true, permanent: true }]);
    expect((await w.call(ada, 'PUT', `${url}/users/${ada.user.id}`, {})).status).toBe(403);
    expect((await w.call(bob, 'PUT', `${url}/users/${eve.user.id}`, {})).status).toBe(403);
    const seen = await w.call(bob, 'GET', url);
    expect(seen.body.access).toBe('readonly');
    expect((await w.call(bob, 'GET', '/api/v1/machines')).body.items).toHaveLength(1);
    expect(
      (await w.call(bob, 'PATCH', url, { label: 'mine' }, { 'if-match': seen.headers.etag as string }))
        .status,
    ).toBe(403);
    expect((await w.call(eve, 'GET', url)).status).toBe(404);
    await w.call(ada, 'PUT', `${url}/users/${bob.user.id}`, { readonly: false });
    expect((await w.call(bob, 'GET', url)).body.access).toBe('user');
    const renamed = await w.call(
      ada,
      'PATCH',
      url,
      { label: 'renamed', meta: { note: 'x' } },
      { 'if-match': seen.headers.etag as string },
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ label: 'renamed', meta: { note: 'x' } });
    expect((await w.call(bob, 'DELETE', `${url}/users/${bob.user.id}`)).status).toBe(204);
    expect((await w.call(bob, 'GET', url)).status).toBe(404);
  });

  it('deletes a record only when no instance can exist (NotInitialized or Terminated)', async () => {
    const w = await world();
    const { ada } = await owners(w);
    const m = await w.call(ada, 'POST', '/api/v1/machines', { provider: 'local', label: 'box' });
    await w.store.machines.setStatus(m.body.id, { state: 'Running', reason: 'built' }, {}, null);
    const url = `/api/v1/machines/${m.body.id}`;
    const refused = await w.call(ada, 'DELETE', url, undefined, { 'if-match': '*' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual({ state: 'Running' });
    await w.store.machines.setStatus(m.body.id, { state: 'Terminated', reason: 'destroyed' }, {}, null);
    const etag = (await w.call(ada, 'GET', url)).headers.etag as string;
    expect(etag).toBe('"v3"');
    expect((await w.call(ada, 'DELETE', url, undefined, { 'if-match': etag })).status).toBe(204);
  });
});

describe('jobs and events', () => {
  it('shows a machine’s jobs and progress to those who see the machine', async () => {
    const w = await world();
    const { ada, bob } = await owners(w);
    const m = await w.call(ada, 'POST', '/api/v1/machines', { provider: 'local', label: 'box' });
    const job = await w.store.jobs.enqueue({ kind: 'build', machineId: m.body.id });
    for (const p of [10, 50, 100]) {
      await w.store.events.append({
        eventId: 'ev1',
        jobId: job.id,
        machineId: m.body.id,
        message: `at ${p}`,
        percentage: p,
        status: 'Building',
      });
    }
    const jobs = await w.call(ada, 'GET', `/api/v1/jobs?machineId=${m.body.id}`);
    expect(jobs.body.items.map((j: { id: string }) => j.id)).toEqual([job.id]);
    expect((await w.call(ada, 'GET', `/api/v1/jobs/${job.id}`)).body.state).toBe('queued');
    const events = await w.call(ada, 'GET', `/api/v1/jobs/${job.id}/events`);
    expect(events.body.items.map((e: { percentage: number }) => e.percentage)).toEqual([10, 50, 100]);
    const after = await w.call(
      ada,
      'GET',
      `/api/v1/machines/${m.body.id}/events?after=${events.body.items[0].seq}&eventId=ev1`,
    );
    expect(after.body.items.map((e: { message: string }) => e.message)).toEqual(['at 50', 'at 100']);
    expect((await w.call(bob, 'GET', `/api/v1/jobs/${job.id}`)).status).toBe(404);
    expect((await w.call(bob, 'GET', `/api/v1/jobs/${job.id}/events`)).status).toBe(404);
    expect((await w.call(bob, 'GET', `/api/v1/machines/${m.body.id}/events`)).status).toBe(404);
    expect((await w.call(bob, 'GET', `/api/v1/jobs?machineId=${m.body.id}`)).status).toBe(404);
    expect((await w.call(bob, 'GET', '/api/v1/jobs')).status).toBe(403);
    expect((await w.call(w.admin, 'GET', '/api/v1/jobs?state=queued')).body.items).toHaveLength(1);
  });
});
