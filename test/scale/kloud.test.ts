/**
 * One Kloud holding a fleet of registered Klients (issue [7/7]): 1,000 simulated Klients speaking
 * the real registration protocol with real kite.keys (test/support/klient-fleet.ts) all register,
 * read online, keep heartbeating, and a caller is routed through Kloud's tunnel to a random one.
 * The 10,000-Klient figures (CPU, RSS, heartbeat lag) come from `npm run bench -- scale`.
 */
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKloud, type TestKloud, waitFor } from '../e2e/harness.js';
import { type Fleet, startFleet } from '../support/klient-fleet.js';

const COUNT = 1000;

let t: TestKloud;
let fleet: Fleet | undefined;

beforeAll(async () => {
  t = await startTestKloud({ 'heartbeat-ms': '5000' });
}, 60_000);
afterAll(async () => {
  fleet?.close();
  await t?.cleanup();
});

describe(`one Kloud with ${COUNT} Klients`, () => {
  it('registers every one, shows each online, keeps their heartbeats, and routes a caller to a random one', {
    timeout: 180_000,
  }, async () => {
    fleet = await startFleet({
      kloudUrl: t.kloud.url,
      store: t.kloud.store,
      keys: t.kloud.keys,
      owner: (await t.kloud.store.users.get(t.adminId))!,
      count: COUNT,
    });
    expect(fleet.klients).toHaveLength(COUNT);
    for (const k of fleet.klients) expect(t.kloud.registry.isOnline(k.kiteId), k.kiteId).toBe(true);
    const online = await t.kloud.store.conn.db
      .selectFrom('machines')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('online', '=', 1)
      .executeTakeFirstOrThrow();
    expect(Number(online.n)).toBe(COUNT);

    // Heartbeats flow: every Klient beats within one interval (plus its start jitter).
    await waitFor('heartbeats from the fleet', async () => {
      const seen = await t.kloud.store.conn.db
        .selectFrom('machines')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('online', '=', 1)
        .where('lastSeenAt', '>', Date.now() - 5_000)
        .executeTakeFirstOrThrow();
      return Number(seen.n) >= COUNT * 0.5 ? true : undefined;
    });
    expect(fleet.heartbeatFailures).toBe(0);

    // A caller routed through Kloud to a random machine of the fleet, with a real access token.
    const target = fleet.klients[Math.floor(Math.random() * COUNT)]!;
    const grant = await t.api('POST', `/api/v1/machines/${target.machineId}/token`, {});
    expect(grant.status).toBe(200);
    const caller = connect(grant.body.url, grant.body.token, { reconnect: false });
    try {
      expect((await caller.call('klient.ping', {}, { timeoutMs: 30_000 })).pong).toBe(true);
    } finally {
      caller.close();
    }
    expect(target.tunnelled).toBe(1);
    // And Kloud calls the machine over its link (provisioners, idle checks go this way).
    expect((await t.kloud.registry.call(target.kiteId, 'klient.ping', {})).pong).toBe(true);
  });
});
