import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASK } from '../repos/credentials.js';
import { STORE_KINDS, storeHarness } from '../testing/stores.js';
import { KEY_FILE } from './keyring.js';
import { rotateCredentialKey } from './rotate.js';

const SECRET = `AKIA-${randomBytes(12).toString('hex')}`;

describe.each(STORE_KINDS)('credentials on %s', (kind) => {
  const harness = storeHarness(kind);
  beforeAll(() => harness.setup());
  afterAll(() => harness.teardown());

  async function people() {
    const opened = await harness.open();
    const { store } = opened;
    const owner = await store.users.create({ username: 'owner' }, null);
    const user = await store.users.create({ username: 'user' }, null);
    const member = await store.users.create({ username: 'member' }, null);
    const stranger = await store.users.create({ username: 'stranger' }, null);
    const group = await store.groups.create({ slug: 'team' }, owner.id);
    await store.groups.setMember(group.id, member.id, 'member', owner.id);
    const cred = await store.credentials.create(
      {
        provider: 'aws',
        title: 'prod',
        fields: { region: 'eu-west-1' },
        data: { accessKeyId: 'AKIDPUBLIC', secretAccessKey: SECRET },
      },
      owner.id,
    );
    return { ...opened, owner, user, member, stranger, group, cred };
  }

  it('grants owner and user levels through user and group shares, and nothing to strangers', async () => {
    const { store, owner, user, member, stranger, group, cred } = await people();
    await store.credentials.share(cred.id, { targetType: 'user', targetId: user.id }, 'user', owner.id);
    await store.credentials.share(cred.id, { targetType: 'group', targetId: group.id }, 'owner', owner.id);
    const level = async (id: string) => store.credentials.accessOf(await store.viewer(id), cred.id);
    expect(await level(owner.id)).toBe('owner');
    expect(await level(member.id)).toBe('owner');
    expect(await level(user.id)).toBe('user');
    expect(await level(stranger.id)).toBeUndefined();
    expect((await store.credentials.list(await store.viewer(stranger.id), { limit: 10 })).items).toHaveLength(
      0,
    );
    expect(
      (await store.credentials.list(await store.viewer(user.id), { limit: 10 })).items.map((c) => c.id),
    ).toEqual([cred.id]);
    expect(await store.credentials.maskedSecret(cred.id)).toEqual({
      accessKeyId: MASK,
      secretAccessKey: MASK,
    });
  });

  it('hands the secret to a build for a user-level share, audits it, and refuses a stranger', async () => {
    const { store, owner, user, stranger, cred } = await people();
    await store.credentials.share(cred.id, { targetType: 'user', targetId: user.id }, 'user', owner.id);
    const secret = await store.credentials.secretForBuild(cred.id, await store.viewer(user.id), {
      machineId: 'm1',
    });
    expect(secret.secretAccessKey).toBe(SECRET);
    await expect(
      store.credentials.secretForBuild(cred.id, await store.viewer(stranger.id)),
    ).rejects.toMatchObject({ code: 'forbidden' });
    const uses = await store.audit.list({ resourceId: cred.id, limit: 20 });
    expect(uses.items.find((a) => a.action === 'credential.use')).toMatchObject({
      actorId: user.id,
      details: { level: 'user', machineId: 'm1' },
    });
    expect(JSON.stringify(uses.items)).not.toContain(SECRET);
  });

  it('rotates the key: every secret re-sealed under a new key, the old key dropped, values intact', async () => {
    const opened = await people();
    const { store, cred, owner } = opened;
    const second = await store.credentials.create(
      { provider: 'do', title: 'x', data: { token: 'tok-123' } },
      owner.id,
    );
    const oldId = store.keyring.currentId;
    const result = await rotateCredentialKey(store);
    expect(result.resealed).toBe(2);
    expect(result.retired).toEqual([oldId]);
    expect(result.keyId).not.toBe(oldId);
    // A fresh process reads the rotated key file and opens both secrets.
    const again = await harness.reopen(opened);
    expect(again.keyring.ids()).toEqual([result.keyId]);
    expect((await again.credentials.secret(cred.id)).secretAccessKey).toBe(SECRET);
    expect((await again.credentials.secret(second.id)).token).toBe('tok-123');
    expect(statSync(join(opened.dataDir, KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses to open a secret sealed for another credential (the id is authenticated)', async () => {
    const { store, owner, cred } = await people();
    const other = await store.credentials.create(
      { provider: 'aws', title: 'other', data: { k: 'v' } },
      owner.id,
    );
    const sealed = await store.conn.db
      .selectFrom('credentialData')
      .select(['keyId', 'sealed'])
      .where('credentialId', '=', cred.id)
      .executeTakeFirstOrThrow();
    await store.conn.db
      .updateTable('credentialData')
      .set(sealed)
      .where('credentialId', '=', other.id)
      .execute();
    await expect(store.credentials.secret(other.id)).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('credential secrets at rest (sqlite)', () => {
  const harness = storeHarness('sqlite');
  afterAll(() => harness.teardown());

  it('never writes a secret in clear to the database files', async () => {
    const { store, dataDir } = await harness.open();
    const owner = await store.users.create({ username: 'owner' }, null);
    const cred = await store.credentials.create(
      { provider: 'aws', title: 't', data: { secretAccessKey: SECRET } },
      owner.id,
    );
    await store.credentials.update(
      cred.id,
      { data: { secretAccessKey: `${SECRET}-2` } },
      cred.version,
      owner.id,
    );
    await store.close();
    const files = readdirSync(dataDir).filter((f) => f !== KEY_FILE);
    expect(files).toContain('kloud.db');
    for (const file of files) {
      const bytes = readFileSync(join(dataDir, file));
      expect(bytes.includes(Buffer.from(SECRET)), file).toBe(false);
    }
  });

  it('uses a key given by the environment and fails clearly without it', async () => {
    const key = randomBytes(32).toString('base64');
    const opened = await harness.open({ credentialKey: key });
    const owner = await opened.store.users.create({ username: 'owner' }, null);
    const cred = await opened.store.credentials.create(
      { provider: 'aws', title: 't', data: { s: SECRET } },
      owner.id,
    );
    expect(readdirSync(opened.dataDir)).not.toContain(KEY_FILE);
    const withoutKey = await harness.reopen(opened, { credentialKey: randomBytes(32).toString('base64') });
    await expect(withoutKey.credentials.secret(cred.id)).rejects.toMatchObject({ code: 'unavailable' });
    const rotated = await harness.reopen(opened, {
      credentialKey: randomBytes(32).toString('base64'),
      credentialOldKeys: [key],
    });
    expect((await rotateCredentialKey(rotated)).resealed).toBe(1);
    expect((await rotated.credentials.secret(cred.id)).s).toBe(SECRET);
  });
});
