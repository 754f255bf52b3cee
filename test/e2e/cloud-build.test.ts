/**
 * A stack machine on the AWS provider, driven through the real @aws-sdk/client-ec2 against the
 * local EC2 Query API server (no cloud account): the credential is bootstrapped on first use and
 * its outputs kept, the instance is launched with the #cloud-config that installs Klient with
 * the machine's kite.key, and since no Klient can register from a simulated instance the build
 * fails at its registration deadline — and terminates what it launched: nothing is leaked.
 */
import { Buffer } from 'node:buffer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../packages/kloud/src/providers/aws/provider.js';
import { type Ec2Server, startEc2Server } from '../../packages/kloud/src/providers/aws/testing/ec2-server.js';
import { startTestKloud, type TestKloud } from './harness.js';

let ec2: Ec2Server;
let t: TestKloud;

beforeAll(async () => {
  ec2 = await startEc2Server();
  const aws = new AwsProvider({
    endpoint: ec2.url,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    pollIntervalMs: 5,
  });
  t = await startTestKloud({ 'register-timeout-ms': '1000' }, { providers: [aws] });
});
afterAll(async () => {
  await t?.cleanup();
  await ec2?.close();
});

describe('a cloud machine whose Klient never registers', () => {
  it('bootstraps the credential, launches with the install cloud-config, and terminates the instance when the build fails', async () => {
    const cred = await t.kloud.store.credentials.create(
      {
        provider: 'aws',
        title: 'test account',
        data: { accessKeyId: 'AKIDKLOUDTEST', secretAccessKey: 'not-a-secret', region: 'us-east-1' },
      },
      t.adminId,
    );
    const content = `
credentials:
  main: { provider: aws }
machines:
  web:
    provider: aws
    credential: main
    user_data: |
      #!/bin/sh
      echo from-the-stack
`;
    const tpl = await t.kloud.store.templates.create({ title: 'aws', content }, t.adminId);
    const stack = await t.kloud.store.stacks.create({ title: 'cloud', templateId: tpl.id }, t.adminId);
    const apply = await t.api('POST', `/api/v1/stacks/${stack.id}/apply`, { credentials: { main: cred.id } });
    expect(apply.status).toBe(202);
    await t.kloud.stacks.settled(apply.body.eventId);

    const described = (await t.api('GET', `/api/v1/stacks/${stack.id}/describe`)).body;
    expect(described.machines[0]).toMatchObject({ state: 'NotInitialized', provider: 'aws' });
    expect(described.machines[0].stateReason).toBe(
      'build failed: Klient did not register within 1 s (first boot); see the machine’s klient log'.replace(
        '’',
        "'",
      ),
    );

    const stored = await t.kloud.store.credentials.get(cred.id);
    expect(Object.keys((stored!.fields.bootstrap ?? {}) as object).length).toBeGreaterThan(0);
    const launched = [...ec2.world.instances.values()];
    expect(launched).toHaveLength(1);
    expect(['shutting-down', 'terminated']).toContain(launched[0]!.state);
    const raw = launched[0]!.userData ?? '';
    // The Query API carries user data base64-encoded; the fake keeps what it was sent.
    const userData = raw.startsWith('#') ? raw : Buffer.from(raw, 'base64').toString('utf8');
    expect(userData.startsWith('#cloud-config')).toBe(true);
    expect(userData).toContain(`${t.kloud.url}/download/klient`);
    expect(userData).toContain('from-the-stack');
  }, 120_000);
});
