/** Users, tokens, groups and the audit log over HTTP. */
import { afterAll, describe, expect, it } from 'vitest';
import { apiHarness } from '../testing/api.js';

const { harness, world } = apiHarness();
afterAll(() => harness.teardown());

describe('users and tokens', () => {
  it('lets only admins create and delete users; users change only themselves; email stays private', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    const bob = await w.newUser('bob');
    expect((await w.call(ada, 'POST', '/api/v1/users', { username: 'eve' })).status).toBe(403);
    expect((await w.call(w.admin, 'POST', '/api/v1/users', { username: 'ada' })).status).toBe(409);
    const me = await w.call(ada, 'GET', '/api/v1/users/me');
    expect(me.body.username).toBe('ada');
    const set = await w.call(
      ada,
      'PATCH',
      `/api/v1/users/${ada.user.id}`,
      { email: 'ada@example.org' },
      { 'if-match': me.headers.etag as string },
    );
    expect(set.status).toBe(200);
    expect((await w.call(bob, 'GET', `/api/v1/users/${ada.user.id}`)).body.email).toBeNull();
    expect((await w.call(w.admin, 'GET', `/api/v1/users/${ada.user.id}`)).body.email).toBe('ada@example.org');
    const etag = set.headers.etag as string;
    expect(
      (await w.call(bob, 'PATCH', `/api/v1/users/${ada.user.id}`, { displayName: 'x' }, { 'if-match': etag }))
        .status,
    ).toBe(403);
    expect(
      (await w.call(ada, 'PATCH', `/api/v1/users/${ada.user.id}`, { isAdmin: true }, { 'if-match': etag }))
        .status,
    ).toBe(403);
    expect(
      (await w.call(ada, 'DELETE', `/api/v1/users/${bob.user.id}`, undefined, { 'if-match': '*' })).status,
    ).toBe(403);
    expect(
      (await w.call(w.admin, 'DELETE', `/api/v1/users/${w.admin.user.id}`, undefined, { 'if-match': '*' }))
        .status,
    ).toBe(403);
    const byName = await w.call(bob, 'GET', '/api/v1/users?username=ada');
    expect(byName.body.items.map((u: { id: string }) => u.id)).toEqual([ada.user.id]);
    const paged = await w.call(bob, 'GET', '/api/v1/users?limit=2');
    expect(paged.body.items).toHaveLength(2);
    const rest = await w.call(bob, 'GET', `/api/v1/users?limit=2&cursor=${paged.body.nextCursor}`);
    expect(rest.body).toMatchObject({ items: [{ username: 'bob' }], nextCursor: null });
    expect((await w.call(bob, 'GET', '/api/v1/users?limit=0')).status).toBe(400);
  });

  it('keeps tokens to their users: lists, makes and revokes only one’s own (admins anyone’s)', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    const bob = await w.newUser('bob');
    const made = await w.call(ada, 'POST', '/api/v1/tokens', { name: 'ci', expiresInSeconds: 3600 });
    expect(made.body.token).toMatch(/^kk_[0-9a-f]{28}_/);
    expect(made.body.apiToken.expiresAt).toBeGreaterThan(Date.now());
    const mine = await w.call(ada, 'GET', '/api/v1/tokens');
    expect(mine.body.items.map((t: { name: string }) => t.name).sort()).toEqual(['ci', 'test']);
    expect(JSON.stringify(mine.body)).not.toContain(made.body.token.slice('kk_'.length + 29));
    expect((await w.call(bob, 'GET', `/api/v1/tokens?userId=${ada.user.id}`)).status).toBe(403);
    expect((await w.call(bob, 'POST', '/api/v1/tokens', { name: 'x', userId: ada.user.id })).status).toBe(
      403,
    );
    expect((await w.call(bob, 'DELETE', `/api/v1/tokens/${made.body.apiToken.id}`)).status).toBe(404);
    expect((await w.call(w.admin, 'GET', `/api/v1/tokens?userId=${ada.user.id}`)).body.items).toHaveLength(2);
    expect((await w.call(w.admin, 'DELETE', `/api/v1/tokens/${made.body.apiToken.id}`)).status).toBe(204);
  });
});

describe('groups', () => {
  it('lets members see a group and admins run it; the last admin cannot leave', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    const bob = await w.newUser('bob');
    const eve = await w.newUser('eve');
    const group = await w.call(ada, 'POST', '/api/v1/groups', { slug: 'team', title: 'The team' });
    expect(group.status).toBe(201);
    const url = `/api/v1/groups/${group.body.id}`;
    expect((await w.call(ada, 'POST', '/api/v1/groups', { slug: 'team' })).status).toBe(409);
    expect((await w.call(eve, 'GET', url)).status).toBe(404);
    expect((await w.call(ada, 'PUT', `${url}/members/${bob.user.id}`, { role: 'member' })).status).toBe(200);
    expect((await w.call(ada, 'PUT', `${url}/members/${'f'.repeat(28)}`, { role: 'member' })).status).toBe(
      404,
    );
    expect((await w.call(bob, 'GET', url)).status).toBe(200);
    expect(
      (await w.call(bob, 'GET', '/api/v1/groups')).body.items.map((g: { slug: string }) => g.slug),
    ).toEqual(['team']);
    expect((await w.call(bob, 'PUT', `${url}/members/${eve.user.id}`, {})).status).toBe(403);
    expect(
      (await w.call(bob, 'PATCH', url, { title: 'mine' }, { 'if-match': group.headers.etag as string }))
        .status,
    ).toBe(403);
    const members = await w.call(bob, 'GET', `${url}/members`);
    expect(
      members.body.items.map((m: { username: string; role: string }) => `${m.username}:${m.role}`),
    ).toEqual(['ada:admin', 'bob:member']);
    expect((await w.call(ada, 'DELETE', `${url}/members/${ada.user.id}`)).status).toBe(409);
    expect((await w.call(bob, 'DELETE', `${url}/members/${bob.user.id}`)).status).toBe(204);
    expect((await w.call(bob, 'GET', url)).status).toBe(404);
    const renamed = await w.call(
      ada,
      'PATCH',
      url,
      { title: 'Renamed' },
      { 'if-match': group.headers.etag as string },
    );
    expect(renamed.body.title).toBe('Renamed');
    expect(
      (await w.call(ada, 'DELETE', url, undefined, { 'if-match': renamed.headers.etag as string })).status,
    ).toBe(204);
  });
});

describe('audit log', () => {
  it('records who changed what; users read their own actions, admins everyone’s', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    const bob = await w.newUser('bob');
    await w.call(ada, 'POST', '/api/v1/groups', { slug: 'a-team' });
    await w.call(bob, 'POST', '/api/v1/stacks', { title: 's' });
    const own = await w.call(ada, 'GET', '/api/v1/audit');
    expect(own.body.items.map((a: { action: string }) => a.action)).toEqual(['group.create']);
    expect(own.body.items[0]).toMatchObject({ actorId: ada.user.id, resourceType: 'group' });
    expect((await w.call(ada, 'GET', `/api/v1/audit?actorId=${bob.user.id}`)).status).toBe(403);
    const all = await w.call(w.admin, 'GET', '/api/v1/audit?limit=3');
    expect(all.body.items.map((a: { action: string }) => a.action)).toEqual([
      'stack.create',
      'group.create',
      'token.create',
    ]);
    const next = await w.call(w.admin, 'GET', `/api/v1/audit?limit=3&cursor=${all.body.nextCursor}`);
    expect(next.body.items[0].action).toBe('user.create');
  });
});
