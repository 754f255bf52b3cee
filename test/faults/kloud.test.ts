/**
 * Faults at Kloud: cloud APIs answering 500, throttling (EC2's RequestLimitExceeded, DigitalOcean's
 * 429 with Retry-After) and never answering, in the middle of a stack apply, through the local
 * fake EC2 and DigitalOcean servers and the real SDK/client; and the network between Kloud and a
 * machine's Klient cut and restored by a TCP proxy that silently drops bytes.
 *
 * `kill -9` of Kloud in the middle of a build is test/e2e/crash-recovery.test.ts.
 */
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../packages/kloud/src/providers/aws/provider.js';
import { type Ec2Server, startEc2Server } from '../../packages/kloud/src/providers/aws/testing/ec2-server.js';
import { DigitalOceanProvider } from '../../packages/kloud/src/providers/digitalocean/provider.js';
import {
  type DoServer,
  startDoServer,
} from '../../packages/kloud/src/providers/digitalocean/testing/do-server.js';
import { apiClient, startTestKloud, type TestKloud, waitFor } from '../e2e/harness.js';
import { type DroppingProxy, startDroppingProxy } from '../support/dropping-proxy.js';
import { freePort } from '../support/free-port.js';

describe('cloud APIs failing during an apply', () => {
  let ec2: Ec2Server;
  let doApi: DoServer;
  let t: TestKloud;
  const retry = { attempts: 5, baseDelayMs: 1, maxDelayMs: 20 };

  beforeAll(async () => {
    ec2 = await startEc2Server();
    doApi = await startDoServer();
    doApi.settleAfter = 0;
    const aws = new AwsProvider({ endpoint: ec2.url, retry, pollIntervalMs: 5, requestTimeoutMs: 1_000 });
    const digitalocean = new DigitalOceanProvider({
      baseUrl: doApi.url,
      retry,
      pollIntervalMs: 5,
      requestTimeoutMs: 1_000,
      sshPublicKey:
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx5Ulu3T3tYd1PbfkHqPtfmSHpVXuMbuM03ja2Ypc5t ops@kloud',
    });
    // No Klient can register from a simulated instance: every build fails at its registration
    // deadline, which is exactly when Kloud must clean up what it launched.
    t = await startTestKloud({ 'register-timeout-ms': '1000' }, { providers: [aws, digitalocean] });
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
    await ec2?.close();
    await doApi?.close();
  });

  async function apply(provider: 'aws' | 'digitalocean', data: Record<string, string>) {
    const cred = await t.kloud.store.credentials.create({ provider, title: provider, data }, t.adminId);
    const content = `credentials:\n  main: { provider: ${provider} }\nmachines:\n  m:\n    provider: ${provider}\n    credential: main\n`;
    const tpl = await t.kloud.store.templates.create({ title: provider, content }, t.adminId);
    const stack = await t.kloud.store.stacks.create({ title: provider, templateId: tpl.id }, t.adminId);
    const applied = await t.api('POST', `/api/v1/stacks/${stack.id}/apply`, {
      credentials: { main: cred.id },
    });
    expect(applied.status).toBe(202);
    await t.kloud.stacks.settled(applied.body.eventId);
    return (await t.api('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines[0];
  }

  const awsCredential = {
    accessKeyId: 'AKIDKLOUDTEST',
    secretAccessKey: 'not-a-secret',
    region: 'us-east-1',
  };

  it('EC2 answering 500, RequestLimitExceeded and nothing at all: retried, one instance launched, terminated when the build fails', async () => {
    ec2.inject({ kind: 'internal', action: 'RunInstances', count: 1 });
    ec2.inject({ kind: 'throttle', action: 'RunInstances', count: 1 });
    ec2.inject({ kind: 'hang', action: 'RunInstances', count: 1 });
    ec2.inject({ kind: 'internal', action: 'TerminateInstances', count: 2 });
    const machine = await apply('aws', awsCredential);
    expect(machine).toMatchObject({ state: 'NotInitialized', provider: 'aws' });
    expect(machine.stateReason).toMatch(/^build failed: Klient did not register/);
    const runs = ec2.callsTo('RunInstances').map((c) => c.errorCode ?? c.status);
    expect(runs).toEqual(expect.arrayContaining(['InternalError', 'RequestLimitExceeded', 200]));
    expect(ec2.callsTo('TerminateInstances').map((c) => c.errorCode ?? c.status)).toContain('InternalError');
    // One launch for all the retries (the job id is the idempotency token), and it was not leaked.
    const launched = [...ec2.world.instances.values()];
    expect(launched).toHaveLength(1);
    expect(['shutting-down', 'terminated']).toContain(launched[0]!.state);
  });

  it('EC2 refusing RunInstances past every retry: a clean failure with the reason kept, and nothing launched', async () => {
    const before = ec2.world.instances.size;
    ec2.inject({ kind: 'internal', action: 'RunInstances', count: retry.attempts });
    const machine = await apply('aws', { ...awsCredential, accessKeyId: 'AKIDKLOUDTEST' });
    expect(machine.state).toBe('NotInitialized');
    expect(machine.stateReason).toMatch(/^build failed: /);
    expect(machine.stateReason).not.toContain('not-a-secret');
    expect(ec2.world.instances.size).toBe(before);
    const failed = ec2.callsTo('RunInstances').filter((c) => c.errorCode === 'InternalError');
    expect(failed.length).toBeGreaterThanOrEqual(retry.attempts);
  });

  it('DigitalOcean answering 429 with Retry-After, then 500: retried, one droplet created, deleted when the build fails', async () => {
    doApi.inject({ route: 'POST /v2/droplets', status: 429, count: 2, retryAfterSeconds: 0 });
    doApi.inject({ route: 'POST /v2/droplets', status: 500, count: 1 });
    const machine = await apply('digitalocean', { token: 'dop_v1_kloud_test_token' });
    expect(machine).toMatchObject({ state: 'NotInitialized', provider: 'digitalocean' });
    expect(machine.stateReason).toMatch(/^build failed: Klient did not register/);
    const creates = doApi.requests.filter((r) => r.route === 'POST /v2/droplets').map((r) => r.status);
    expect(creates).toEqual([429, 429, 500, 202]);
    expect(doApi.droplets.size).toBe(0);
  });
});

describe('the network between Kloud and a Klient cut, then restored', () => {
  let t: TestKloud;
  let proxy: DroppingProxy;
  const heartbeatMs = 1_000;

  beforeAll(async () => {
    // The machine reaches Kloud only through the proxy: Kloud's public URL is the proxy's.
    proxy = await startDroppingProxy(await freePort());
    t = await startTestKloud({
      'heartbeat-ms': String(heartbeatMs),
      'public-url': proxy.url,
      listen: `127.0.0.1:${proxy.targetPort}`,
    });
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await t?.cleanup();
  });

  it('marks the machine offline within 3 heartbeats of the cut, and the Klient comes back by itself', {
    timeout: 120_000,
  }, async () => {
    const tpl = await t.kloud.store.templates.create(
      { title: 'net', content: 'machines:\n  m:\n    provider: local\n' },
      t.adminId,
    );
    const stack = await t.kloud.store.stacks.create({ title: 'net', templateId: tpl.id }, t.adminId);
    const applied = await t.api('POST', `/api/v1/stacks/${stack.id}/apply`, {});
    await t.kloud.stacks.settled(applied.body.eventId);
    const machine = (await t.api('GET', `/api/v1/stacks/${stack.id}/describe`)).body.machines[0];
    expect(machine).toMatchObject({ state: 'Running', online: true });
    // The test talks to Kloud directly; only the machine's side goes through the proxy.
    const direct = apiClient(() => `http://127.0.0.1:${proxy.targetPort}`, t.token);
    const state = async () => (await direct('GET', `/api/v1/machines/${machine.id}/state`)).body;

    proxy.blackhole();
    const cut = performance.now();
    await waitFor(
      'the machine to read offline',
      async () => ((await state()).online ? undefined : true),
      60_000,
    );
    const offlineAfterMs = performance.now() - cut;
    // The stated bound is 3 heartbeats; the margin is for a loaded machine, not for the design.
    expect(offlineAfterMs).toBeLessThan(3 * heartbeatMs + 10_000);
    expect((await state()).state).toBe('Running');

    proxy.restore();
    const back = await waitFor('the Klient to reconnect by itself', async () => {
      const s = await state();
      return s.online ? s : undefined;
    });
    expect(back.state).toBe('Running');
    // And a caller reaches it again through the tunnel.
    const grant = await direct('POST', `/api/v1/machines/${machine.id}/token`, {});
    const client = connect(grant.body.url, grant.body.token, { reconnect: false });
    try {
      expect((await client.call('klient.ping', {}, { timeoutMs: 30_000 })).pong).toBe(true);
    } finally {
      client.close();
    }
  });
});
