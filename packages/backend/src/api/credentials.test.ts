/** Credentials over HTTP: share levels, masking, and the secret never reaching a non-owner or a log. */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MASK } from '../repos/credentials.js';
import { type ApiWorld, apiHarness } from '../testing/api.js';

const { harness, world } = apiHarness();
afterAll(() => harness.teardown());

const SECRET = `do-token-${randomBytes(16).toString('hex')}`;

async function setup(w: ApiWorld) {
  const owner = await w.newUser('owner');
  const coOwner = await w.newUser('coowner');
  const user = await w.newUser('user');
  const groupie = await w.newUser('groupie');
  const stranger = await w.newUser('stranger');
  const group = await w.call(owner, 'POST', '/api/v1/groups', { slug: 'ops' });
  await w.call(owner, 'PUT', `/api/v1/groups/${group.body.id}/members/${groupie.user.id}`, {
    role: 'member',
  });
  const cred = await w.call(owner, 'POST', '/api/v1/credentials', {
    provider: 'digitalocean',
    title: 'team account',
    fields: { region: 'fra1' },
    data: { token: SECRET },
  });
  expect(cred.status).toBe(201);
  const id = cred.body.id as string;
  const share = (targetType: string, targetId: string, level: string) =>
    w.call(owner, 'PUT', `/api/v1/credentials/${id}/shares`, { targetType, targetId, level });
  expect((await share('user', coOwner.user.id, 'owner')).status).toBe(200);
  expect((await share('user', user.user.id, 'user')).status).toBe(200);
  expect((await share('group', group.body.id, 'user')).status).toBe(200);
  return { owner, coOwner, user, groupie, stranger, id, created: cred, groupId: group.body.id as string };
}

describe('credentials API', () => {
  it('masks the secret for everyone and reveals it at /data only to owner-level callers', async () => {
    const w = await world();
    const s = await setup(w);
    expect(s.created.body.data).toEqual({ token: MASK });
    for (const who of [s.owner, s.coOwner]) {
      const data = await w.call(who, 'GET', `/api/v1/credentials/${s.id}/data`);
      expect(data.status).toBe(200);
      expect(data.body.data.token).toBe(SECRET);
      expect(data.headers['cache-control']).toBe('no-store');
    }
    for (const who of [s.user, s.groupie]) {
      const one = await w.call(who, 'GET', `/api/v1/credentials/${s.id}`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ access: 'user', data: { token: MASK }, fields: { region: 'fra1' } });
      expect((await w.call(who, 'GET', `/api/v1/credentials/${s.id}/data`)).status).toBe(403);
      expect(
        (await w.call(who, 'GET', '/api/v1/credentials')).body.items.map((c: { id: string }) => c.id),
      ).toEqual([s.id]);
    }
    expect((await w.call(s.stranger, 'GET', `/api/v1/credentials/${s.id}`)).status).toBe(404);
    expect((await w.call(s.stranger, 'GET', `/api/v1/credentials/${s.id}/data`)).status).toBe(404);
    expect((await w.call(s.stranger, 'GET', '/api/v1/credentials')).body.items).toEqual([]);
    // Site admins get no access to secrets.
    expect((await w.call(w.admin, 'GET', `/api/v1/credentials/${s.id}`)).status).toBe(404);
  });

  it('lets owner-level callers change, share and delete; user-level callers none of it', async () => {
    const w = await world();
    const s = await setup(w);
    const etag = (await w.call(s.owner, 'GET', `/api/v1/credentials/${s.id}`)).headers.etag as string;
    const byUser = await w.call(
      s.user,
      'PATCH',
      `/api/v1/credentials/${s.id}`,
      { title: 'mine now' },
      { 'if-match': etag },
    );
    expect(byUser.status).toBe(403);
    expect((await w.call(s.user, 'GET', `/api/v1/credentials/${s.id}/shares`)).status).toBe(403);
    expect(
      (
        await w.call(s.user, 'PUT', `/api/v1/credentials/${s.id}/shares`, {
          targetType: 'user',
          targetId: s.stranger.user.id,
          level: 'owner',
        })
      ).status,
    ).toBe(403);
    expect(
      (await w.call(s.user, 'DELETE', `/api/v1/credentials/${s.id}`, undefined, { 'if-match': etag })).status,
    ).toBe(403);

    const changed = await w.call(
      s.coOwner,
      'PATCH',
      `/api/v1/credentials/${s.id}`,
      { data: { token: `${SECRET}-v2` } },
      { 'if-match': etag },
    );
    expect(changed.status).toBe(200);
    expect(changed.body.data).toEqual({ token: MASK });
    const shares = await w.call(s.coOwner, 'GET', `/api/v1/credentials/${s.id}/shares`);
    expect(shares.body.items.map((x: { level: string }) => x.level).sort()).toEqual([
      'owner',
      'user',
      'user',
    ]);
    expect(
      (await w.call(s.owner, 'DELETE', `/api/v1/credentials/${s.id}/shares/user/${s.user.user.id}`)).status,
    ).toBe(204);
    expect((await w.call(s.user, 'GET', `/api/v1/credentials/${s.id}`)).status).toBe(404);
    expect(
      (await w.call(s.owner, 'DELETE', `/api/v1/credentials/${s.id}/shares/user/${s.user.user.id}`)).status,
    ).toBe(404);
    const fresh = (await w.call(s.owner, 'GET', `/api/v1/credentials/${s.id}`)).headers.etag as string;
    expect(
      (await w.call(s.coOwner, 'DELETE', `/api/v1/credentials/${s.id}`, undefined, { 'if-match': fresh }))
        .status,
    ).toBe(204);
    expect((await w.call(s.owner, 'GET', `/api/v1/credentials/${s.id}`)).status).toBe(404);
  });

  it('hands a user-level sharer the secret for a build, through the store', async () => {
    const w = await world();
    const s = await setup(w);
    const secret = await w.store.credentials.secretForBuild(s.id, await w.store.viewer(s.groupie.user.id));
    expect(secret.token).toBe(SECRET);
    await expect(
      w.store.credentials.secretForBuild(s.id, await w.store.viewer(s.stranger.user.id)),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('never shows the secret to a non-owner in any answer, nor in the logs or the audit log', async () => {
    const w = await world();
    const s = await setup(w);
    const texts: string[] = [];
    for (const who of [s.user, s.groupie, s.stranger, w.admin]) {
      for (const url of [
        '/api/v1/credentials',
        `/api/v1/credentials/${s.id}`,
        `/api/v1/credentials/${s.id}/data`,
        `/api/v1/credentials/${s.id}/shares`,
        '/api/v1/audit?limit=500',
      ]) {
        texts.push((await w.call(who, 'GET', url)).text);
      }
    }
    // A failing request carrying the secret in its body must not echo it either.
    texts.push(
      (
        await w.call(s.owner, 'POST', '/api/v1/credentials', {
          provider: 'BAD PROVIDER!',
          title: 't',
          data: { token: SECRET },
        })
      ).text,
    );
    texts.push(
      (await w.call(s.owner, 'PATCH', `/api/v1/credentials/${s.id}`, { data: { token: SECRET } })).text,
    );
    expect(texts.join('\n')).not.toContain(SECRET);
    expect(w.logs.length).toBeGreaterThan(10);
    expect(w.logs.join('\n')).not.toContain(SECRET);
    expect(w.logs.join('\n')).not.toContain(s.owner.token);
  });
});
