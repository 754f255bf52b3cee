/**
 * The DigitalOcean provider through a whole machine life against a stateful test API
 * (packages/kloud/src/providers/digitalocean/testing/do-server.ts), with Prism's validating
 * proxy in between: every request the provider sends and every answer the test API gives is
 * checked against DigitalOcean's official OpenAPI document (`--errors` turns a violation into
 * a failed call), so the stateful server cannot drift from the real API unnoticed.
 */
import { DigitalOceanProvider } from '@kk/kloud/providers/digitalocean/provider.js';
import { type DoServer, startDoServer } from '@kk/kloud/providers/digitalocean/testing/do-server.js';
import type { ProviderCredential } from '@kk/kloud/providers/provider.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digitalOceanSpecGz, type Prism, startPrism } from '../support/prism.js';
import { providerRejection } from '../support/provider-errors.js';

let api: DoServer;
let prism: Prism;
let digitalocean: DigitalOceanProvider;
const credential: ProviderCredential = {
  id: 'do-life',
  provider: 'digitalocean',
  secret: { token: 'dop_v1_kloud_test_token' },
};

beforeAll(async () => {
  api = await startDoServer();
  prism = await startPrism({ specGz: digitalOceanSpecGz, upstream: api.url });
  digitalocean = new DigitalOceanProvider({
    baseUrl: prism.url,
    retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
    pollIntervalMs: 5,
    waitTimeoutMs: 30_000,
    sshPublicKey:
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx5Ulu3T3tYd1PbfkHqPtfmSHpVXuMbuM03ja2Ypc5t ops@kloud',
  });
}, 120_000);
afterAll(async () => {
  await prism?.close();
  await api?.close();
});

describe('digitalocean machine life (validated by the official spec)', () => {
  it('bootstraps once, creates, stops, starts, restarts and destroys a droplet', async () => {
    await digitalocean.validate(credential);
    const boot = await digitalocean.bootstrap(credential);
    expect(await digitalocean.bootstrap(credential)).toEqual(boot);
    const ready = { ...credential, bootstrap: boot };

    const userData = '#cloud-config\nruncmd:\n  - touch /ok\n';
    const info = await digitalocean.create(
      ready,
      { machineId: 'm-7', label: 'web', size: 's-2vcpu-4gb', region: 'fra1', idempotencyToken: 'tok-7' },
      userData,
    );
    expect(info).toMatchObject({ state: 'Running', meta: { region: 'fra1', size: 's-2vcpu-4gb' } });
    expect(info.ipAddress).toMatch(/^164\.90\./);
    const droplet = api.droplets.get(Number(info.instanceId))!;
    expect(droplet).toMatchObject({ userData, image: 'debian-12-x64', sshKeys: [Number(boot.sshKeyId)] });
    expect(droplet.tags).toEqual(['kloud', 'kloud-machine-m-7', 'kloud-token-tok-7']);

    expect((await digitalocean.stop(ready, info.instanceId)).state).toBe('Stopped');
    expect(droplet.status).toBe('off');
    expect((await digitalocean.stop(ready, info.instanceId)).state).toBe('Stopped');
    expect((await digitalocean.start(ready, info.instanceId)).state).toBe('Running');
    await expect(digitalocean.restart(ready, info.instanceId)).resolves.toMatchObject({ state: 'Running' });
    const types = [...api.actions.values()]
      .filter((a) => a.dropletId === droplet.id)
      .map((a) => `${a.type}:${a.status}`);
    expect(types).toEqual([
      'create:in-progress',
      'shutdown:completed',
      'power_on:completed',
      'reboot:completed',
    ]);

    const tagged = await digitalocean.listTagged(ready);
    expect(tagged.find((t) => t.instanceId === info.instanceId)?.machineId).toBe('m-7');

    await digitalocean.destroy(ready, info.instanceId);
    expect(api.droplets.has(droplet.id)).toBe(false);
    expect((await digitalocean.describe(ready, info.instanceId)).state).toBe('Terminated');
    await digitalocean.destroy(ready, info.instanceId);
    expect((await providerRejection(digitalocean.start(ready, info.instanceId))).kind).toBe('notFound');
  });

  it('cuts the power when a clean shutdown errors', async () => {
    const info = await digitalocean.create(
      credential,
      { machineId: 'm-8', label: 'db', idempotencyToken: 'tok-8' },
      '#!/bin/sh\n',
    );
    api.failingActions.add('shutdown');
    try {
      expect((await digitalocean.stop(credential, info.instanceId)).state).toBe('Stopped');
    } finally {
      api.failingActions.delete('shutdown');
    }
    const types = [...api.actions.values()]
      .filter((a) => a.dropletId === Number(info.instanceId))
      .map((a) => `${a.type}:${a.status}`);
    expect(types).toEqual(['create:in-progress', 'shutdown:errored', 'power_off:completed']);
  });

  it('makes one droplet for one token, even when the create is retried after a 500', async () => {
    api.inject({ route: 'POST /v2/droplets', status: 500, count: 1 });
    const spec = { machineId: 'm-9', label: 'ci', idempotencyToken: 'tok-9' };
    const first = await digitalocean.create(credential, spec, '#!/bin/sh\n');
    const again = await digitalocean.create(credential, spec, '#!/bin/sh\n');
    expect(again.instanceId).toBe(first.instanceId);
    expect([...api.droplets.values()].filter((d) => d.tags.includes('kloud-token-tok-9'))).toHaveLength(1);
    expect(
      api.requests
        .filter(
          (r) => r.route === 'POST /v2/droplets' && r.body && (r.body as { name: string }).name === 'ci',
        )
        .map((r) => r.status),
    ).toEqual([500, 202]);
  });

  it('waits out rate limiting, and reports bad specs and a bad token by kind', async () => {
    api.inject({ route: 'GET /v2/account', status: 429, count: 2 });
    await digitalocean.validate(credential);

    const badSize = await providerRejection(
      digitalocean.create(
        credential,
        { machineId: 'm-10', label: 'x', size: 's-99vcpu', idempotencyToken: 'tok-10' },
        '#!/bin/sh\n',
      ),
    );
    expect(badSize.kind).toBe('user');
    expect(badSize.message).toContain('invalid size');

    const stranger = { ...credential, secret: { token: 'dop_v1_someone_else' } };
    expect((await providerRejection(digitalocean.validate(stranger))).kind).toBe('credential');
    expect((await providerRejection(digitalocean.validate({ ...credential, secret: {} }))).kind).toBe(
      'credential',
    );
    expect(
      (
        await providerRejection(
          digitalocean.create(
            credential,
            { machineId: 'm-11', label: 'x', idempotencyToken: 't', extra: { disk: 1 } },
            '',
          ),
        )
      ).kind,
    ).toBe('user');
  });

  it('keeps two credentials apart in one provider', async () => {
    const other = { ...credential, id: 'do-other', secret: { token: 'dop_v1_someone_else' } };
    const [mine, theirs] = await Promise.allSettled([
      digitalocean.validate(credential),
      digitalocean.validate(other),
    ]);
    expect(mine.status).toBe('fulfilled');
    expect(theirs.status).toBe('rejected');
    await digitalocean.validate(credential);
  });
});
