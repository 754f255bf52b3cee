/**
 * Two Kloud processes' worth of lifecycles on one PostgreSQL (DESIGN §7): a machine's lease is
 * in the database, so of two builds started through two Klouds exactly one runs; and a Kloud
 * that stops in the middle of a build leaves a lease that lapses, after which another Kloud on
 * the same database takes the job over in its background sweep and finishes it — while a
 * subscriber on the other Kloud sees every event live, whichever process emitted it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import {
  gatedMachine,
  killEverythingIn,
  machineSpec,
  startTestKloud,
  streamedMessages,
  type TestKloud,
  tempDataDir,
  waitFor,
} from './harness.js';

let pg: TestPostgres;
const dir = tempDataDir();
const started: TestKloud[] = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const k of started) await k.kloud.close().catch(() => {});
  await killEverythingIn(dir);
  await pg?.stop();
});

async function kloud(databaseUrl: string, extra: Record<string, string> = {}): Promise<TestKloud> {
  const k = await startTestKloud(
    { 'data-dir': dir, 'database-url': databaseUrl, 'lease-ms': '1500', ...extra },
    { bootstrap: started.length === 0 },
  );
  started.push(k);
  return k;
}

describe('lifecycle on PostgreSQL shared by two Klouds', () => {
  it('runs one of two builds started through two Klouds, and a lapsed build is taken over by the other', async () => {
    const url = await pg.createDatabase('kloud_shared');
    const a = await kloud(url);
    const b = await kloud(url);
    const gate = join(dir, 'gate');
    const spec = machineSpec(gatedMachine(gate));
    const machine = await a.kloud.store.machines.create(
      { provider: 'local', label: 'pg', meta: { spec } },
      { id: a.adminId, username: 'admin' },
    );

    const results = await Promise.all([
      a.api('POST', `/api/v1/machines/${machine.id}/build`),
      b.api('POST', `/api/v1/machines/${machine.id}/build`, undefined, a.token),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    const winner = results[0]!.status === 202 ? a : b;
    const eventId = (results[0]!.status === 202 ? results[0]! : results[1]!).body.eventId;
    // The other Kloud streams the job's events live, whichever process runs it (LISTEN/NOTIFY).
    const loser = winner === a ? b : a;
    const rpc = connect(`${loser.kloud.url.replace('http', 'ws')}/api/v1/rpc`, a.token, { reconnect: false });
    const sub = await rpc.call('kloud.subscribe', { eventId });
    const streamed = streamedMessages(
      rpc,
      sub.streamId,
      (status) => status === 'Running' || status === 'failed',
    );
    await waitFor('the provisioner to run', async () => {
      const { body } = await a.api('GET', `/api/v1/events/${eventId}`);
      return body.events.some((e: { message: string }) => e.message.startsWith('running provisioner wait'))
        ? true
        : undefined;
    });

    // The winner stops without finishing its job (as if it died); its lease lapses.
    const port = new URL(winner.kloud.url).port;
    await winner.kloud.close();
    started.splice(started.indexOf(winner), 1);
    // A Kloud on the winner's address (the machine's kite.key names it) sweeps and takes over.
    const heir = await kloud(url, { listen: `127.0.0.1:${port}`, 'sweep-ms': '300' });
    writeFileSync(gate, '');
    const done = await waitFor('the taken-over build to end', async () => {
      const s = (await heir.api('GET', `/api/v1/machines/${machine.id}/state`, undefined, a.token)).body;
      return s.state === 'Building' ? undefined : s;
    });
    expect(done).toMatchObject({ state: 'Running', online: true });
    const messages = (await heir.api('GET', `/api/v1/events/${eventId}`, undefined, a.token)).body.events.map(
      (e: { message: string }) => e.message,
    );
    expect(messages).toContain('Kloud restarted during build; resuming (attempt 2 of 3)');
    const live = await streamed;
    rpc.close();
    expect(live[0]).toBe('build started (NotInitialized → Building)');
    expect(live).toContain('Kloud restarted during build; resuming (attempt 2 of 3)');
    expect(live.at(-1)).toBe('build completed');
    // A caller reaching the machine through another Kloud process (same public URL, as behind a
    // load balancer) is relayed to the process holding the machine's link.
    const third = await kloud(url, { 'public-url': heir.kloud.url });
    const thirdPort = (third.kloud.app.server.address() as { port: number }).port;
    const grant = (await heir.api('POST', `/api/v1/machines/${machine.id}/token`, {}, a.token)).body;
    const relayed = connect(`ws://127.0.0.1:${thirdPort}/machines/${machine.id}/klient`, grant.token, {
      reconnect: false,
    });
    try {
      expect((await relayed.call('exec.run', { command: 'echo relayed' })).stdout).toBe('relayed\n');
    } finally {
      relayed.close();
    }
    const destroy = await heir.api('POST', `/api/v1/machines/${machine.id}/destroy`, undefined, a.token);
    await heir.kloud.lifecycle.settled(destroy.body.eventId);
  }, 180_000);
});
