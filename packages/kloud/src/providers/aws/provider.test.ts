/**
 * The AWS provider driven through the real @aws-sdk/client-ec2 against a local EC2 Query API
 * server (./testing/ec2-server.ts) on loopback.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../errors.js';
import type { MachineSpec, ProviderCredential } from '../provider.js';
import { kloudState } from './instances.js';
import { AwsProvider } from './provider.js';
import type { AwsProviderOptions } from './settings.js';
import { type Ec2Server, startEc2Server } from './testing/ec2-server.js';

let server: Ec2Server;
let aws: AwsProvider;
const providers: AwsProvider[] = [];
const fast = {
  retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
  pollIntervalMs: 1,
  waitTimeoutMs: 20_000,
};

function provider(options: AwsProviderOptions = {}): AwsProvider {
  const made = new AwsProvider({ endpoint: server.url, ...fast, ...options });
  providers.push(made);
  return made;
}

const credential = (secret: Partial<Record<string, string>> = {}): ProviderCredential => ({
  id: 'cred-1',
  provider: 'aws',
  secret: {
    accessKeyId: 'AKIDKLOUDTEST',
    secretAccessKey: 'not-a-secret',
    region: 'us-east-1',
    ...secret,
  } as Record<string, string>,
});

let ready: ProviderCredential;
let n = 0;
const spec = (over: Partial<MachineSpec> = {}): MachineSpec => {
  n++;
  return { machineId: `m-${n}`, label: `web-${n}`, idempotencyToken: `tok-${n}-${Date.now()}`, ...over };
};

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

beforeAll(async () => {
  server = await startEc2Server();
});
beforeEach(async () => {
  aws = provider();
  ready = { ...credential(), bootstrap: await aws.bootstrap(credential()) };
});
afterEach(() => {
  for (const p of providers.splice(0)) p.close();
});
afterAll(async () => {
  await server.close();
});

describe('aws credentials', () => {
  it('validates a working credential with one authenticated call', async () => {
    const before = server.calls.length;
    await aws.validate(credential());
    expect(server.calls.slice(before).map((c) => [c.action, c.accessKeyId, c.status])).toEqual([
      ['DescribeInstances', 'AKIDKLOUDTEST', 200],
    ]);
  });

  it('reports a refused key as a credential error and does not retry it', async () => {
    const before = server.calls.length;
    const error = await rejection(aws.validate(credential({ accessKeyId: 'AKIDWRONG' })));
    expect(error.kind).toBe('credential');
    expect(error.message).toContain('AuthFailure');
    expect(server.calls.length - before).toBe(1);
  });

  it('refuses an incomplete secret before calling EC2', async () => {
    const before = server.calls.length;
    const error = await rejection(aws.validate(credential({ secretAccessKey: '' })));
    expect(error.kind).toBe('credential');
    expect(error.message).toContain('secretAccessKey');
    expect((await rejection(aws.validate(credential({ region: 'moon-1' })))).message).toContain('moon-1');
    expect(server.calls.length).toBe(before);
  });
});

describe('aws bootstrap', () => {
  it('finds the default subnet and makes a security group open to Klient, once', async () => {
    const outputs = ready.bootstrap!;
    expect(outputs).toMatchObject({
      region: 'us-east-1',
      vpcId: server.world.vpc.vpcId,
      subnetId: server.world.subnets[0]!.subnetId,
      availabilityZone: 'us-east-1a',
    });
    const group = server.world.securityGroups.get(outputs.securityGroupId!)!;
    expect(group.groupName).toBe('kloud-cred-1');
    expect(group.ingress).toEqual([{ protocol: 'tcp', from: 56789, to: 56789, cidr: '0.0.0.0/0' }]);

    const groups = server.world.securityGroups.size;
    expect(await aws.bootstrap(credential())).toEqual(outputs);
    expect(server.world.securityGroups.size).toBe(groups);
  });

  it('imports the operator key pair and opens SSH when a public key is configured', async () => {
    const withKey = provider({
      sshPublicKey:
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx5Ulu3T3tYd1PbfkHqPtfmSHpVXuMbuM03ja2Ypc5t ops@kloud',
    });
    const outputs = await withKey.bootstrap({ ...credential(), id: 'cred-key' });
    expect(outputs.keyName).toBe('kloud-cred-key');
    expect(server.world.keyPairs.get('kloud-cred-key')?.fingerprint).toMatch(/^SHA256:/);
    const ports = server.world.securityGroups.get(outputs.securityGroupId!)!.ingress.map((r) => r.from);
    expect(ports.sort()).toEqual([22, 56789]);
    expect(await withKey.bootstrap({ ...credential(), id: 'cred-key' })).toEqual(outputs);
  });
});

describe('aws machine lifecycle', () => {
  it('creates a tagged instance with the user data and waits until it runs', async () => {
    const s = spec();
    const userData = '#cloud-config\nruncmd: [[echo, hi]]\n';
    const info = await aws.create(ready, s, userData);
    expect(info.state).toBe('Running');
    expect(info.ipAddress).toMatch(/^54\./);
    expect(info.meta).toMatchObject({
      instanceType: 't3.micro',
      availabilityZone: 'us-east-1a',
      region: 'us-east-1',
    });

    const run = server.callsTo('RunInstances').at(-1)!;
    expect(run.params.get('ClientToken')).toBe(s.idempotencyToken);
    expect(Buffer.from(run.params.get('UserData')!, 'base64').toString()).toBe(userData);
    const instance = server.world.instances.get(info.instanceId)!;
    expect(instance.userData).toBe(userData);
    expect(Object.fromEntries(instance.tags)).toEqual({ Name: s.label, 'kloud:machine-id': s.machineId });
    expect(instance.groupIds).toEqual([ready.bootstrap!.securityGroupId]);
    // No image named: the newest Debian 12 of its official owner, not an older one or a look-alike.
    expect(instance.imageId).toBe('ami-0d1a0000000000002');
  });

  it('returns the same instance for a repeated ClientToken instead of a second one', async () => {
    const s = spec();
    const first = await aws.create(ready, s, '#!/bin/sh\n');
    const count = server.world.instances.size;
    const runs = server.callsTo('RunInstances').length;
    // Resumed after a newer Debian image appeared: still the same instance, and no second RunInstances.
    server.world.images.push({
      ...server.world.images[1]!,
      imageId: 'ami-0d1a0000000000009',
      creationDate: '2026-01-01T00:00:00.000Z',
    });
    try {
      const again = await aws.create(ready, s, '#!/bin/sh\n');
      expect(again.instanceId).toBe(first.instanceId);
    } finally {
      server.world.images.pop();
    }
    expect(server.world.instances.size).toBe(count);
    expect(server.callsTo('RunInstances').length).toBe(runs);
  });

  it('stops, starts, restarts and destroys, reporting the real state each time', async () => {
    const { instanceId } = await aws.create(
      ready,
      spec({ size: 't3.small', image: 'ubuntu-24.04' }),
      '#!/bin/sh\n',
    );
    expect(server.world.instances.get(instanceId)!.imageId).toBe('ami-0ab0000000000004');

    expect((await aws.stop(ready, instanceId)).state).toBe('Stopped');
    expect(server.world.instances.get(instanceId)!.state).toBe('stopped');
    expect((await aws.describe(ready, instanceId)).ipAddress).toMatch(/^172\.31\./);
    expect((await aws.stop(ready, instanceId)).state).toBe('Stopped');

    const started = await aws.start(ready, instanceId);
    expect(started.state).toBe('Running');
    expect(started.ipAddress).toMatch(/^54\./);

    const reboots = server.callsTo('RebootInstances').length;
    expect((await aws.restart(ready, instanceId)).state).toBe('Running');
    expect(server.callsTo('RebootInstances').length).toBe(reboots + 1);

    await aws.destroy(ready, instanceId);
    expect(server.world.instances.get(instanceId)!.state).toBe('terminated');
    expect((await aws.describe(ready, instanceId)).state).toBe('Terminated');
    await aws.destroy(ready, instanceId);
    expect((await rejection(aws.start(ready, instanceId))).kind).toBe('notFound');
  });

  it('waits out a transition before acting on it', async () => {
    const { instanceId } = await aws.create(ready, spec(), '#!/bin/sh\n');
    server.world.setState(server.world.instances.get(instanceId)!, 'stopping');
    expect((await aws.start(ready, instanceId)).state).toBe('Running');
  });

  it('treats an instance EC2 no longer knows as Terminated, and destroying it as done', async () => {
    const { instanceId } = await aws.create(ready, spec(), '#!/bin/sh\n');
    server.world.forget(instanceId);
    expect(await aws.describe(ready, instanceId)).toEqual({
      instanceId,
      state: 'Terminated',
      meta: { vanished: true },
    });
    await aws.destroy(ready, instanceId);
  });

  it('reports an instance EC2 terminates during launch, with its reason, as transient', async () => {
    server.world.failingLaunches = 1;
    const error = await rejection(aws.create(ready, spec(), '#!/bin/sh\n'));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('became Terminated instead of Running');
    expect(error.message).toContain('Insufficient capacity');
  });

  it('keeps credentials apart: a refused key fails while another works at the same time', async () => {
    const stranger = { ...credential({ accessKeyId: 'AKIDSTRANGER' }), id: 'cred-2' };
    const [mine, theirs] = await Promise.allSettled([aws.validate(credential()), aws.validate(stranger)]);
    expect(mine.status).toBe('fulfilled');
    expect(theirs.status).toBe('rejected');
  });

  it('maps every EC2 state name to a Kloud state', () => {
    expect(
      ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated', 'weird'].map(kloudState),
    ).toEqual(['Starting', 'Running', 'Stopping', 'Stopped', 'Terminating', 'Terminated', 'Unknown']);
  });
});

describe('aws errors', () => {
  it('reports bad machine specs as user errors with EC2 reason', async () => {
    const cases: [Partial<MachineSpec>, string][] = [
      [{ image: 'ami-0123456789abcdef0' }, 'InvalidAMIID.NotFound'],
      [{ size: 't9.enormous' }, 'InvalidParameterValue'],
      [{ size: 'p5.48xlarge' }, 'Unsupported'],
      [{ size: 't4g.micro' }, 'architecture'],
      [{ image: 'plan9' }, 'neither an AMI id'],
      [{ region: 'eu-central-1' }, 'region eu-central-1'],
      [{ extra: { disk: 10 } }, 'no extra settings'],
    ];
    for (const [over, text] of cases) {
      const error = await rejection(aws.create(ready, spec(over), '#!/bin/sh\n'));
      expect(error.kind, text).toBe('user');
      expect(error.message).toContain(text);
    }
    const big = await rejection(aws.create(ready, spec(), 'x'.repeat(16 * 1024 + 1)));
    expect(big.kind).toBe('user');
    expect((await rejection(aws.create(credential(), spec(), '#!/bin/sh\n'))).kind).toBe('internal');
  });

  it('retries throttling with backoff and then succeeds', async () => {
    server.inject({ kind: 'throttle', action: 'RunInstances', count: 2 });
    const before = server.callsTo('RunInstances').length;
    const info = await aws.create(ready, spec(), '#!/bin/sh\n');
    expect(info.state).toBe('Running');
    const runs = server.callsTo('RunInstances').slice(before);
    expect(runs.map((c) => c.errorCode ?? c.status)).toEqual([
      'RequestLimitExceeded',
      'RequestLimitExceeded',
      200,
    ]);
    // Retried calls carry the same token, so a throttled call that did land makes no twin.
    expect(new Set(runs.map((c) => c.params.get('ClientToken'))).size).toBe(1);
  });

  it('gives up on persistent 5xx after the attempt bound with a transient error', async () => {
    server.inject({ kind: 'internal', action: 'DescribeInstances', count: 4 });
    const before = server.callsTo('DescribeInstances').length;
    const error = await rejection(aws.describe(ready, 'i-0123456789abcdef0'));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('InternalError');
    expect(server.callsTo('DescribeInstances').length - before).toBe(4);
  });

  it('times out a request EC2 never answers, retries it, and succeeds', async () => {
    const patient = provider({ requestTimeoutMs: 1_000 });
    server.inject({ kind: 'hang', action: 'DescribeRegions', count: 1 });
    const available = await patient.listAvailable(ready);
    expect(available.regions.length).toBeGreaterThan(0);
  });

  it('reports an endpoint that refuses connections as transient, after retrying', async () => {
    const closed = await startEc2Server();
    const url = closed.url;
    await closed.close();
    const error = await rejection(provider({ endpoint: url }).validate(credential()));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('times out for good as a transient error', async () => {
    const patient = provider({
      requestTimeoutMs: 1_000,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    });
    server.inject({ kind: 'hang', action: 'DescribeInstances', count: 2 });
    const error = await rejection(patient.describe(ready, 'i-0123456789abcdef0'));
    expect(error.kind).toBe('transient');
  });
});

describe('aws listings', () => {
  it('lists current x86 sizes across pages, enabled regions and the newest image per family', async () => {
    const available = await aws.listAvailable(ready);
    expect(available.sizes.map((s) => s.name)).toEqual([
      't3.micro',
      't3.small',
      't3.medium',
      'm5.large',
      'c5.xlarge',
      'p5.48xlarge',
    ]);
    expect(available.sizes[0]).toEqual({
      name: 't3.micro',
      title: 't3.micro (2 vCPU, 1 GiB)',
      spec: { vcpus: 2, memoryMiB: 1024, architecture: 'x86_64' },
    });
    expect(server.callsTo('DescribeInstanceTypes').at(-1)!.params.get('NextToken')).toBe('3');
    expect(available.regions.map((r) => r.name)).toEqual(['eu-central-1', 'us-east-1', 'us-west-2']);
    expect(available.images.map((i) => [i.name, i.spec?.imageId])).toEqual([
      ['debian-12', 'ami-0d1a0000000000002'],
      ['ubuntu-24.04', 'ami-0ab0000000000004'],
    ]);
  });

  it('lists every instance carrying the machine tag, across pages', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await aws.create(ready, spec(), '#!/bin/sh\n'));
    const tagged = await aws.listTagged(ready);
    const ids = new Map(tagged.map((t) => [t.instanceId, t.machineId]));
    for (const m of made) expect(ids.get(m.instanceId)).toMatch(/^m-\d+$/);
    expect(tagged.length).toBe(
      [...server.world.instances.values()].filter((i) => i.tags.has('kloud:machine-id')).length,
    );
  });
});
