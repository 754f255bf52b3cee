/**
 * The DigitalOcean provider against Prism serving DigitalOcean's official OpenAPI document
 * (`--errors`: a request that breaks the spec is answered 422, which the provider reports as a
 * failure, so every passing call here sent a request the real API accepts). Answers are the
 * spec's own examples, so assertions check how the provider maps them. A recording fetch keeps
 * each request and, when a test asks, adds Prism's `Prefer` header to pick an example or status.
 */
import { DoClient, doError } from '@kk/kloud/providers/digitalocean/client.js';
import { DigitalOceanProvider } from '@kk/kloud/providers/digitalocean/provider.js';
import type { DigitalOceanProviderOptions } from '@kk/kloud/providers/digitalocean/settings.js';
import { ProviderError } from '@kk/kloud/providers/errors.js';
import type { ProviderCredential } from '@kk/kloud/providers/provider.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { digitalOceanSpecGz, type Prism, startPrism } from '../support/prism.js';
import { providerRejection } from '../support/provider-errors.js';

let prism: Prism;
interface Sent {
  method: string;
  path: string;
  body?: unknown;
  status: number;
}
let sent: Sent[] = [];
/** Prism `Prefer` values to add, by `METHOD path` (path without query), each used `times` times. */
let prefer: { match: string; value: string; times: number }[] = [];

const recordingFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  const key = `${init?.method ?? 'GET'} ${url.pathname}`;
  const headers = new Headers(init?.headers);
  const rule = prefer.find((p) => p.match === key && p.times > 0);
  if (rule) {
    rule.times--;
    headers.set('prefer', rule.value);
  }
  const res = await fetch(input, { ...init, headers });
  sent.push({
    method: init?.method ?? 'GET',
    path: url.pathname + url.search,
    body: init?.body ? JSON.parse(String(init.body)) : undefined,
    status: res.status,
  });
  return res;
};

const credential: ProviderCredential = {
  id: 'do-1',
  provider: 'digitalocean',
  secret: { token: 'dop_v1_not_a_real_token' },
};

function provider(options: DigitalOceanProviderOptions = {}) {
  return new DigitalOceanProvider({
    baseUrl: prism.url,
    fetch: recordingFetch,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    pollIntervalMs: 10,
    waitTimeoutMs: 30_000,
    ...options,
  });
}

beforeAll(async () => {
  prism = await startPrism({ specGz: digitalOceanSpecGz });
}, 120_000);
afterAll(async () => {
  await prism?.close();
});
beforeEach(() => {
  sent = [];
  prefer = [];
});

describe('digitalocean provider against the official API description', () => {
  it('validates the token with GET /v2/account, and maps 401 to a credential error', async () => {
    await provider().validate(credential);
    expect(sent.map((s) => `${s.method} ${s.path} ${s.status}`)).toEqual(['GET /v2/account 200']);

    prefer = [{ match: 'GET /v2/account', value: 'code=401', times: 1 }];
    const error = await providerRejection(provider().validate(credential));
    expect(error.kind).toBe('credential');
    expect(error.message).toContain('401 unauthorized');
  });

  it('adds the operator SSH key to the account once, with a valid request', async () => {
    const publicKey =
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBx5Ulu3T3tYd1PbfkHqPtfmSHpVXuMbuM03ja2Ypc5t ops@kloud';
    const outputs = await provider({ sshPublicKey: publicKey }).bootstrap(credential);
    // The spec's example answer for POST /v2/account/keys.
    expect(outputs).toEqual({
      sshKeyId: '512189',
      sshKeyFingerprint: '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa',
    });
    expect(sent.map((s) => `${s.method} ${s.path.split('?')[0]} ${s.status}`)).toEqual([
      'GET /v2/account/keys 200',
      'POST /v2/account/keys 201',
    ]);
    expect(sent[1]!.body).toEqual({ name: 'kloud-do-1', public_key: publicKey });
    expect(await provider().bootstrap(credential)).toEqual({});
  });

  it('creates a droplet with user data, Kloud tags and the SSH key, then reads it until it runs', async () => {
    prefer = [{ match: 'POST /v2/droplets', value: 'example=Single Droplet Create Response', times: 1 }];
    const info = await provider().create(
      { ...credential, bootstrap: { sshKeyId: '512189' } },
      {
        machineId: 'm-42',
        label: 'Web Server #1',
        size: 's-1vcpu-1gb',
        image: 'debian-12-x64',
        region: 'nyc3',
        idempotencyToken: 'build-7f3a',
        extra: { sshKeys: ['3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:fa:45'] },
      },
      '#cloud-config\nruncmd:\n  - touch /ok\n',
    );
    expect(sent.map((s) => `${s.method} ${s.path} ${s.status}`)).toEqual([
      'GET /v2/droplets?tag_name=kloud-token-build-7f3a&page=1&per_page=200 200',
      'POST /v2/droplets 202',
      'GET /v2/droplets/3164444 200',
    ]);
    expect(sent[1]!.body).toEqual({
      name: 'web-server-1',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'debian-12-x64',
      ssh_keys: ['3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:fa:45', 512189],
      tags: ['kloud', 'kloud-machine-m-42', 'kloud-token-build-7f3a'],
      user_data: '#cloud-config\nruncmd:\n  - touch /ok\n',
      monitoring: false,
      ipv6: false,
    });
    expect(info).toMatchObject({ instanceId: '3164444', state: 'Running', ipAddress: '192.241.165.154' });
    expect(info.meta).toMatchObject({
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      privateIpAddress: '10.128.192.124',
    });
  });

  it('reports a request the API would refuse (Prism answers 422) as a user error', async () => {
    const client = new DoClient({
      token: 'dop_v1_not_a_real_token',
      baseUrl: prism.url,
      timeoutMs: 30_000,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const error = await client
      .request('POST', '/v2/droplets', { name: 'x', region: 'nyc3', size: 's-1vcpu-1gb', tags: 'not-a-list' })
      .catch((e: unknown) => doError(e, 'create'));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('user');
    expect((error as ProviderError).message).toContain('422');
  });

  it('describes, powers and destroys with valid requests', async () => {
    const droplets = provider({ waitTimeoutMs: 500 });
    const info = await droplets.describe(credential, '3164444');
    expect(info).toMatchObject({ instanceId: '3164444', state: 'Running', ipAddress: '192.241.165.154' });
    // Already running: nothing to send.
    expect((await droplets.start(credential, '3164444')).state).toBe('Running');
    expect(sent.filter((s) => s.method === 'POST')).toEqual([]);

    // The example action never completes, so following it ends at the deadline, after a valid POST.
    const error = await providerRejection(droplets.stop(credential, '3164444'));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('timed out');
    const post = sent.find((s) => s.method === 'POST')!;
    expect(post).toEqual({
      method: 'POST',
      path: '/v2/droplets/3164444/actions',
      body: { type: 'shutdown' },
      status: 201,
    });
    expect(sent.some((s) => s.path === '/v2/actions/36804636' && s.status === 200)).toBe(true);

    await droplets.destroy(credential, '3164444');
    expect(sent.at(-1)).toMatchObject({ method: 'DELETE', path: '/v2/droplets/3164444', status: 204 });
    expect((await providerRejection(droplets.describe(credential, 'not-an-id'))).kind).toBe('internal');
  });

  it('lists sizes, regions and distribution images, and Kloud-tagged droplets', async () => {
    const available = await provider().listAvailable(credential);
    expect(available.sizes[0]).toMatchObject({
      name: 's-1vcpu-1gb',
      price: '$5/month',
      spec: { vcpus: 1, memoryMiB: 1024, diskGb: 25 },
    });
    expect(available.regions[0]).toMatchObject({ name: 'nyc3', title: 'New York 3' });
    expect(available.images.length).toBeGreaterThan(0);
    expect(sent.map((s) => s.path)).toEqual([
      '/v2/sizes?page=1&per_page=200',
      '/v2/regions?page=1&per_page=200',
      '/v2/images?type=distribution&page=1&per_page=200',
    ]);

    const tagged = await provider().listTagged(credential);
    expect(sent.at(-1)!.path).toBe('/v2/droplets?tag_name=kloud&page=1&per_page=200');
    expect(tagged.map((t) => [t.instanceId, t.state, t.machineId])).toEqual([
      ['3164444', 'Running', undefined],
      ['3164459', 'Running', undefined],
      ['3164412', 'Running', undefined],
    ]);
  });

  it('retries 429 and 5xx with backoff, then succeeds or gives up as transient', async () => {
    prefer = [{ match: 'GET /v2/account', value: 'code=429', times: 2 }];
    await provider().validate(credential);
    expect(sent.map((s) => s.status)).toEqual([429, 429, 200]);

    sent = [];
    prefer = [{ match: 'GET /v2/account', value: 'code=500', times: 3 }];
    const error = await providerRejection(provider().validate(credential));
    expect(error.kind).toBe('transient');
    expect(sent.map((s) => s.status)).toEqual([500, 500, 500]);
  });
});
