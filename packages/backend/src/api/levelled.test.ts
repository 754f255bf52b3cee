/** The access-level matrix for stack templates and provisioners: private / group / public × owner / member / stranger. */
import { afterAll, describe, expect, it } from 'vitest';
import { type ApiWorld, apiHarness, type Caller } from '../testing/api.js';

const { harness, world } = apiHarness();
afterAll(() => harness.teardown());

const LEVELS = ['private', 'group', 'public'] as const;
const READ: Record<(typeof LEVELS)[number], { owner: boolean; member: boolean; stranger: boolean }> = {
  private: { owner: true, member: false, stranger: false },
  group: { owner: true, member: true, stranger: false },
  public: { owner: true, member: true, stranger: true },
};

async function cast(w: ApiWorld) {
  const owner = await w.newUser('owner');
  const member = await w.newUser('member');
  const stranger = await w.newUser('stranger');
  const group = await w.call(owner, 'POST', '/api/v1/groups', { slug: 'team' });
  await w.call(owner, 'PUT', `/api/v1/groups/${group.body.id}/members/${member.user.id}`, { role: 'member' });
  return { owner, member, stranger, groupId: group.body.id as string };
}

describe.each([
  {
    base: '/api/v1/stack-templates',
    body: (l: string) => ({ title: `t-${l}`, content: `machines: {} # ${l}` }),
  },
  {
    base: '/api/v1/provisioners',
    body: (l: string) => ({ name: `p-${l}`, content: `#!/bin/sh\necho ${l}` }),
  },
])('$base access levels', ({ base, body }) => {
  it('lets each caller read, list, change and delete exactly what their level allows', async () => {
    const w = await world();
    const people = await cast(w);
    const { groupId } = people;
    const ids: Record<string, string> = {};
    for (const level of LEVELS) {
      const created = await w.call(people.owner, 'POST', base, {
        ...body(level),
        accessLevel: level,
        groupId,
      });
      expect(created.status).toBe(201);
      expect(created.body.sha1).toMatch(/^[0-9a-f]{40}$/);
      ids[level] = created.body.id;
    }
    const filtered = async (query: string) =>
      (await w.call(people.owner, 'GET', `${base}?${query}`)).body.items.map((i: { id: string }) => i.id);
    expect(await filtered('accessLevel=public')).toEqual([ids.public]);
    expect(await filtered(`groupId=${groupId}&accessLevel=group`)).toEqual([ids.group]);
    expect(await filtered(`ownerId=${people.member.user.id}`)).toEqual([]);
    for (const level of LEVELS) {
      for (const who of ['owner', 'member', 'stranger'] as const) {
        const caller: Caller = people[who];
        const res = await w.call(caller, 'GET', `${base}/${ids[level]}`);
        expect(res.status, `${who} reads ${level}`).toBe(READ[level][who] ? 200 : 404);
        const listed = await w.call(caller, 'GET', base);
        expect(
          listed.body.items.some((i: { id: string }) => i.id === ids[level]),
          `${who} lists ${level}`,
        ).toBe(READ[level][who]);
        if (who === 'owner') continue;
        // Readers who are not the owner may not change or delete; those who cannot read get 404.
        const etag = res.headers.etag as string | undefined;
        const patch = await w.call(
          caller,
          'PATCH',
          `${base}/${ids[level]}`,
          { content: 'hijacked' },
          { 'if-match': etag ?? '"v1"' },
        );
        expect(patch.status, `${who} changes ${level}`).toBe(READ[level][who] ? 403 : 404);
        const del = await w.call(caller, 'DELETE', `${base}/${ids[level]}`, undefined, {
          'if-match': etag ?? '"v1"',
        });
        expect(del.status, `${who} deletes ${level}`).toBe(READ[level][who] ? 403 : 404);
      }
    }
    // The owner changes one (new sha1, new ETag) and deletes it.
    const before = await w.call(people.owner, 'GET', `${base}/${ids.group}`);
    const changed = await w.call(
      people.owner,
      'PATCH',
      `${base}/${ids.group}`,
      { content: 'new' },
      { 'if-match': before.headers.etag as string },
    );
    expect(changed.status).toBe(200);
    expect(changed.body.sha1).not.toBe(before.body.sha1);
    expect(changed.headers.etag).not.toBe(before.headers.etag);
    expect(
      (
        await w.call(people.owner, 'DELETE', `${base}/${ids.group}`, undefined, {
          'if-match': changed.headers.etag as string,
        })
      ).status,
    ).toBe(204);
    expect((await w.call(people.owner, 'GET', `${base}/${ids.group}`)).status).toBe(404);
    // Nothing any non-owner tried changed a thing.
    for (const level of ['private', 'public'] as const) {
      expect((await w.call(people.owner, 'GET', `${base}/${ids[level]}`)).body.version).toBe(1);
    }
  });

  it('refuses a group level without a group, and a group the caller is not in', async () => {
    const w = await world();
    const { owner, stranger, groupId } = await cast(w);
    const noGroup = await w.call(owner, 'POST', base, { ...body('x'), accessLevel: 'group' });
    expect(noGroup.status).toBe(400);
    const notMine = await w.call(stranger, 'POST', base, { ...body('y'), accessLevel: 'group', groupId });
    expect(notMine.status).toBe(403);
    expect((await w.call(owner, 'GET', base)).body.items).toHaveLength(0);
  });
});

describe('provisioner slugs', () => {
  it('finds a provisioner by `username/name`, refuses a second one of that name, hides private ones', async () => {
    const w = await world();
    const { owner, stranger } = await cast(w);
    const made = await w.call(owner, 'POST', '/api/v1/provisioners', {
      name: 'django',
      content: 'pip install django',
      accessLevel: 'public',
    });
    expect(made.body.slug).toBe('owner/django');
    expect((await w.call(stranger, 'GET', '/api/v1/provisioners/by-slug/owner/django')).body.id).toBe(
      made.body.id,
    );
    expect(
      (await w.call(owner, 'POST', '/api/v1/provisioners', { name: 'django', content: 'x' })).status,
    ).toBe(409);
    await w.call(owner, 'POST', '/api/v1/provisioners', { name: 'secret', content: 'x' });
    expect((await w.call(stranger, 'GET', '/api/v1/provisioners/by-slug/owner/secret')).status).toBe(404);
  });
});
