/**
 * The DigitalOcean client's own promises, against the stateful test API on loopback: per-request
 * timeouts, bounded retries, DO's retry-after honoured, error kinds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoApiError, DoClient, doErrorKind } from './client.js';
import { type DoServer, startDoServer } from './testing/do-server.js';

let api: DoServer;
beforeAll(async () => {
  api = await startDoServer();
});
afterAll(async () => {
  await api.close();
});

function client(over: Partial<ConstructorParameters<typeof DoClient>[0]> = {}) {
  return new DoClient({
    token: 'dop_v1_kloud_test_token',
    baseUrl: api.url,
    timeoutMs: 10_000,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2_000 },
    ...over,
  });
}

describe('DoClient', () => {
  it('times out a request that is never answered, retries it, then reports it as transient', async () => {
    api.inject({ route: 'GET /v2/account', status: 'hang', count: 2 });
    const error = await client({ timeoutMs: 300, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } })
      .request('GET', '/v2/account')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DoApiError);
    expect((error as DoApiError).id).toBe('timeout');
    expect(doErrorKind(error)).toBe('transient');
  });

  it('waits as long as retry-after asks (within the cap) before retrying a 429', async () => {
    api.inject({ route: 'GET /v2/account', status: 429, count: 1, retryAfterSeconds: 1 });
    const delays: number[] = [];
    const { status } = await client({ onRetry: (_e, _attempt, delayMs) => delays.push(delayMs) }).request(
      'GET',
      '/v2/account',
    );
    expect(status).toBe(200);
    expect(delays).toEqual([1_000]);
  });

  it('reports a server that refuses connections as transient', async () => {
    const gone = await startDoServer();
    await gone.close();
    const error = await client({ baseUrl: gone.url })
      .request('GET', '/v2/account')
      .catch((e: unknown) => e);
    expect((error as DoApiError).id).toBe('ECONNREFUSED');
    expect(doErrorKind(error)).toBe('transient');
  });

  it('does not retry what retrying cannot fix', async () => {
    const before = api.requests.length;
    const error = await client({ token: 'dop_v1_wrong_token' })
      .request('GET', '/v2/account')
      .catch((e: unknown) => e);
    expect(doErrorKind(error)).toBe('credential');
    expect(api.requests.length - before).toBe(1);

    const missing = await client()
      .request('GET', '/v2/droplets/42')
      .catch((e: unknown) => e);
    expect((missing as DoApiError).status).toBe(404);
    expect(doErrorKind(missing)).toBe('notFound');
  });
});
