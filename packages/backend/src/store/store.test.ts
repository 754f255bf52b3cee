import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropConnections } from '../../../../test/support/postgres.js';
import type { Viewer } from '../access/viewer.js';
import { BackendError } from '../errors.js';
import { STORE_KINDS, storeHarness } from '../testing/stores.js';

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof BackendError ? e.code : String(e)),
  );

describe.each(STORE_KINDS)('store on %s', (kind) => {
  const harness = storeHarness(kind);
  beforeAll(() => harness.setup());
  afterAll(() => harness.teardown());

  it('applies migrations once and reopens the same data', async () => {
    const opened = await harness.open();
    await opened.store.users.create({ username: 'ada' }, null);
    const again = await harness.reopen(opened);
    expect((await again.users.byUsername('ada'))?.username).toBe('ada');
    expect(await again.ping()).toBe(true);
  });

  it('refuses a duplicate username with conflict and keeps the first', async () => {
    const { store } = await harness.open();
    const ada = await store.users.create({ username: 'ada', email: 'ada@example.org' }, null);
    expect(await code(store.users.create({ username: 'ada' }, null))).toBe('conflict');
    expect(await store.users.count()).toBe(1);
    expect((await store.users.get(ada.id))?.email).toBe('ada@example.org');
  });

  it('lets exactly one of two writers holding the same version win; the loser retries and nothing is lost', async () => {
    const { store } = await harness.open();
    const owner = await store.users.create({ username: 'ada' }, null);
    const stack = await store.stacks.create({ title: 'dev', config: { A: '1' } }, owner.id);
    const results = await Promise.allSettled([
      store.stacks.update(stack.id, { title: 'from writer one' }, stack.version, owner.id),
      store.stacks.update(stack.id, { config: { A: '1', B: '2' } }, stack.version, owner.id),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(((lost[0] as PromiseRejectedResult).reason as BackendError).code).toBe('precondition_failed');
    // The loser reads again and reapplies its change on top of the winner's.
    const fresh = (await store.stacks.get(stack.id))!;
    expect(fresh.version).toBe(2);
    const loserPatch =
      results[0]!.status === 'rejected' ? { title: 'from writer one' } : { config: { A: '1', B: '2' } };
    const final = await store.stacks.update(stack.id, loserPatch, fresh.version, owner.id);
    expect(final).toMatchObject({ title: 'from writer one', config: { A: '1', B: '2' }, version: 3 });
  });

  it('reports a vanished row as not_found and a stale delete as precondition_failed', async () => {
    const { store } = await harness.open();
    const owner = await store.users.create({ username: 'ada' }, null);
    const stack = await store.stacks.create({ title: 'dev' }, owner.id);
    await store.stacks.update(stack.id, { title: 'x' }, 1, owner.id);
    expect(await code(store.stacks.delete(stack.id, 1, owner.id))).toBe('precondition_failed');
    await store.stacks.delete(stack.id, 2, owner.id);
    expect(await code(store.stacks.update(stack.id, { title: 'y' }, 3, owner.id))).toBe('not_found');
  });

  it('lists templates by access level: private to the owner, group to members, public to all', async () => {
    const { store } = await harness.open();
    const owner = await store.users.create({ username: 'owner' }, null);
    const member = await store.users.create({ username: 'member' }, null);
    const stranger = await store.users.create({ username: 'stranger' }, null);
    const group = await store.groups.create({ slug: 'team' }, owner.id);
    await store.groups.setMember(group.id, member.id, 'member', owner.id);
    for (const level of ['private', 'group', 'public'] as const) {
      await store.templates.create(
        { title: level, content: `# ${level}`, accessLevel: level, groupId: group.id },
        owner.id,
      );
    }
    const titles = async (v: Viewer) =>
      (await store.templates.list(v, { limit: 10 })).items.map((t) => t.title).sort();
    expect(await titles(await store.viewer(owner.id))).toEqual(['group', 'private', 'public']);
    expect(await titles(await store.viewer(member.id))).toEqual(['group', 'public']);
    expect(await titles(await store.viewer(stranger.id))).toEqual(['public']);
  });

  it('pages with a cursor in creation order without repeats or gaps', async () => {
    const { store } = await harness.open();
    for (let i = 0; i < 7; i++) await store.users.create({ username: `u${i}` }, null);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.users.list({ limit: 3, cursor });
      seen.push(...page.items.map((u) => u.username));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
  });

  it('moves machine state only from the allowed states and keeps the reason', async () => {
    const { store } = await harness.open();
    const owner = await store.users.create({ username: 'ada' }, null);
    const m = await store.machines.create({ provider: 'local', label: 'box' }, owner, 'koding');
    expect(m.uid).toMatch(/^uakl[0-9a-f]{8}$/);
    expect(
      await code(
        store.machines.setStatus(m.id, { state: 'Starting', reason: 'start' }, { from: ['Stopped'] }, null),
      ),
    ).toBe('conflict');
    const building = await store.machines.setStatus(
      m.id,
      { state: 'Building', reason: 'build requested' },
      { from: ['NotInitialized'] },
      owner.id,
    );
    expect(building.status).toMatchObject({ state: 'Building', reason: 'build requested' });
    expect(building.version).toBe(2);
    await store.machines.setRegistry(m.id, { online: true, linkHolder: 'kloud-1' });
    const seen = (await store.machines.byUid(m.uid))!;
    expect(seen.registry).toMatchObject({ online: true, linkHolder: 'kloud-1' });
    expect(seen.version).toBe(2);
    const audit = await store.audit.list({ resourceId: m.id, limit: 10 });
    expect(audit.items.map((a) => a.action)).toEqual(['machine.status', 'machine.create']);
  });

  it('refuses to delete a machine, its owner or its credential while an instance may exist at the provider', async () => {
    const { store } = await harness.open();
    const owner = await store.users.create({ username: 'ada' }, null);
    const cred = await store.credentials.create({ provider: 'aws', title: 't', data: { k: 'v' } }, owner.id);
    const m = await store.machines.create({ provider: 'aws', label: 'web', credentialId: cred.id }, owner);
    await store.machines.setStatus(m.id, { state: 'Running', reason: 'built' }, {}, null);
    expect(await code(store.machines.delete(m.id, undefined, owner.id))).toBe('conflict');
    expect(await code(store.credentials.delete(cred.id, undefined, owner.id))).toBe('conflict');
    expect(await code(store.users.delete(owner.id, undefined, null))).toBe('conflict');
    expect((await store.machines.get(m.id))?.credentialId).toBe(cred.id);
    await store.machines.setStatus(m.id, { state: 'Terminated', reason: 'destroyed' }, {}, null);
    await store.credentials.delete(cred.id, undefined, owner.id);
    await store.users.delete(owner.id, undefined, null);
    expect(await store.machines.get(m.id)).toBeUndefined();
  });

  it.runIf(kind === 'postgres')(
    'survives PostgreSQL dropping its idle connections, and says so in the log',
    async () => {
      let dropped!: () => void;
      const warned = new Promise<void>((resolve) => {
        dropped = resolve;
      });
      const opened = await harness.open({ logger: { warn: () => dropped() } });
      await opened.store.users.create({ username: 'ada' }, null);
      await dropConnections(opened.databaseUrl!);
      await warned;
      expect(await opened.store.ping()).toBe(true);
      expect((await opened.store.users.byUsername('ada'))?.username).toBe('ada');
    },
  );

  it('refuses to delete a user whose credential runs someone else’s machine; their group outlives them', async () => {
    const { store } = await harness.open();
    const ada = await store.users.create({ username: 'ada' }, null);
    const bob = await store.users.create({ username: 'bob' }, null);
    const group = await store.groups.create({ slug: 'team' }, ada.id);
    await store.groups.setMember(group.id, bob.id, 'admin', ada.id);
    const cred = await store.credentials.create({ provider: 'aws', title: 't', data: { k: 'v' } }, ada.id);
    await store.credentials.share(cred.id, { targetType: 'user', targetId: bob.id }, 'user', ada.id);
    const m = await store.machines.create({ provider: 'aws', label: 'bobs', credentialId: cred.id }, bob);
    await store.machines.setStatus(m.id, { state: 'Stopped', reason: 'stopped' }, {}, null);
    await expect(store.users.delete(ada.id, undefined, null)).rejects.toMatchObject({
      code: 'conflict',
      details: { machines: [{ id: m.id, state: 'Stopped' }] },
    });
    await store.machines.setStatus(m.id, { state: 'Terminated', reason: 'destroyed' }, {}, null);
    await store.users.delete(ada.id, undefined, null);
    expect(await store.credentials.get(cred.id)).toBeUndefined();
    expect(await store.groups.get(group.id)).toMatchObject({ slug: 'team', ownerId: null });
    expect((await store.groups.members(group.id)).map((x) => x.username)).toEqual(['bob']);
  });
});
