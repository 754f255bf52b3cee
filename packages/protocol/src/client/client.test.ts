import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppCode } from '../errors.js';
import type { RpcServer } from '../node/server.js';
import { clientTo, rejection, testKeys, tokenFor, tokenServer } from '../testing/harness.js';
import { RawSocket, upgradeStatus } from '../testing/raw.js';
import type { KeySet } from '../tokens/keyset.js';
import { backoffDelay } from './backoff.js';

let keys: KeySet;
const servers: RpcServer[] = [];
beforeAll(async () => {
  keys = await testKeys();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(port = 0) {
  const server = await tokenServer(keys, { methods: {}, port });
  servers.push(server);
  return server;
}

describe('authentication at the upgrade', () => {
  it('refuses a missing or bad token with 401 and no socket, naming the reason', async () => {
    const server = await start();
    const none = await upgradeStatus(server.url, {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.data.reason).toBe('missing');
    const bad = await upgradeStatus(server.url, { authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).error.data.reason).toBe('malformed');
    expect(server.endpoint.peers.size).toBe(0);
  });

  it('accepts the token as a query parameter, for browsers', async () => {
    const server = await start();
    const raw = new RawSocket(`${server.url}/?token=${await tokenFor(keys)}`);
    expect(await raw.exchange(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.ping' }))).toMatchObject({
      result: { pong: true },
    });
    raw.close();
  });

  it('fails calls at once with the server reason when the token is refused', async () => {
    const server = await start();
    const client = clientTo(server.url, 'junk');
    const error = await rejection(client.call('rpc.ping', {}, { timeoutMs: 10_000 }));
    expect(error.code).toBe(AppCode.Unauthenticated);
    expect(error.message).toContain('JWT');
    client.close();
  });
});

describe('failed logins', () => {
  it('refuses an address with 429 and Retry-After after repeated bad tokens, then lets it in again', async () => {
    const server = await tokenServer(keys, { methods: {}, authThrottle: { maxFailures: 3, windowMs: 300 } });
    servers.push(server);
    for (let i = 0; i < 3; i++) {
      expect((await upgradeStatus(server.url, { authorization: 'Bearer wrong' })).status).toBe(401);
    }
    const good = { authorization: `Bearer ${await tokenFor(keys)}` };
    const throttled = await upgradeStatus(server.url, good);
    expect(throttled.status).toBe(429);
    expect(JSON.parse(throttled.body).error.code).toBe('RateLimited');
    await expect
      .poll(async () => (await upgradeStatus(server.url, good)).status, { timeout: 5000 })
      .toBe(101);
  });
});

describe('reconnection', () => {
  it('reconnects after the server restarts and re-runs connect hooks', async () => {
    const first = await start();
    let connects = 0;
    const client = clientTo(first.url, () => tokenFor(keys));
    client.onConnect(() => {
      connects++;
    });
    await client.call('rpc.ping', {});
    const port = first.port;
    first.endpoint.terminateAll();
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    const states: string[] = [];
    client.onState((s) => states.push(s));
    await expect.poll(() => states.includes('connecting')).toBe(true);
    await start(port);
    expect(await client.call('rpc.ping', {}, { timeoutMs: 20_000 })).toEqual({ pong: true });
    expect(connects).toBe(2);
    client.close();
  });

  it('spreads retries with jitter under a growing cap', () => {
    const delays = Array.from({ length: 200 }, () =>
      backoffDelay(5, { initialMs: 100, maxMs: 2000, factor: 2 }),
    );
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(new Set(delays).size).toBeGreaterThan(50);
    expect(backoffDelay(0, { initialMs: 100, maxMs: 2000, factor: 2 }, () => 1)).toBe(100);
  });
});

describe('token renewal', () => {
  it('renews the token before it expires so the connection outlives the first token', async () => {
    const server = await start();
    let issued = 0;
    const client = clientTo(server.url, () => {
      issued++;
      return tokenFor(keys, 'owner', 3);
    });
    await client.call('rpc.ping', {});
    const firstPeer = client.connection;
    const closed: number[] = [];
    firstPeer!.onClose((code) => closed.push(code));
    await expect.poll(() => issued, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(closed).toEqual([]);
    expect(client.connection).toBe(firstPeer);
    client.close();
  });

  it('closes a connection whose token expired without renewal', async () => {
    const server = await start();
    const raw = new RawSocket(server.url, await tokenFor(keys, 'owner', 2));
    const closed = await raw.closed;
    expect(closed.code).toBe(4001);
    expect(closed.reason).toContain('expired');
  });
});
