/**
 * Kloud's background jobs against real local machines, each sweep run on demand
 * (`jobs.sweepOnce()`) instead of waiting for the timer: reconciliation of drift (a Klient
 * that died, an instance that vanished, an instance nobody knows), idle stop from
 * `klient.usage`, builds failed past their deadline, and warm pools handed out by apply.
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesIn, readPid, terminate } from '../../packages/kloud/src/providers/local/processes.js';
import { type Json, machineSpec, startTestKloud, type TestKloud, waitFor } from './harness.js';

let t: TestKloud;

beforeAll(async () => {
  t = await startTestKloud({ 'build-deadline-ms': '1000' });
});
afterAll(async () => {
  await t?.cleanup();
});

async function built(machineYaml = 'provider: local', meta: Record<string, unknown> = {}): Promise<Json> {
  const spec = machineSpec(machineYaml);
  const m = await t.kloud.store.machines.create(
    { provider: 'local', label: `bg-${Math.random().toString(36).slice(2, 8)}`, meta: { spec, ...meta } },
    { id: t.adminId, username: 'admin' },
  );
  const accepted = await t.kloud.lifecycle.request(m.id, 'build', t.adminId);
  await t.kloud.lifecycle.settled(accepted.eventId);
  const machine = (await t.kloud.store.machines.get(m.id))!;
  // Every test here starts from running machines: a build that did not get there says why now,
  // not as a missing file further on.
  if (machine.status.state !== 'Running')
    throw new Error(
      `the build of ${machine.label} ended ${machine.status.state} (${machine.status.reason}); events: ${(await messages(m.id)).join(' | ')}`,
    );
  return machine;
}

const dirOf = (m: Json): string => (m.meta.provider as Json).directory;
const state = async (id: string) => (await t.api('GET', `/api/v1/machines/${id}/state`)).body;
const messages = async (id: string) =>
  (await t.api('GET', `/api/v1/machines/${id}/events?limit=1000`)).body.items.map((e: Json) => e.message);

// Real processes on a machine other suites load too: generous, never a timing assertion.
describe('background jobs', { timeout: 120_000 }, () => {
  it('reconciles: a dead Klient reads Stopped, a vanished instance Unknown, an unknown instance is reported', async () => {
    const a = await built();
    const b = await built();
    expect(a.status.state).toBe('Running');

    const pid = (await readPid(join(dirOf(a), 'etc', 'klient.pid')))!;
    await terminate([pid], 5_000);
    const copy = join(t.dir, 'machines', 'lm-stranger-0123456789');
    cpSync(join(dirOf(b), 'instance.json'), join(copy, 'instance.json'), { recursive: true });
    const stranger = JSON.parse(readFileSync(join(copy, 'instance.json'), 'utf8'));
    await terminate(await processesIn(dirOf(b)), 5_000);
    rmSync(dirOf(b), { recursive: true, force: true });

    await t.kloud.jobs.sweepOnce();
    expect((await state(a.id)).state).toBe('Stopped');
    expect(await messages(a.id)).toContain('local reports the instance Stopped; Kloud had Running');
    const gone = await state(b.id);
    expect(gone.state).toBe('Unknown');
    expect(gone.stateReason).toBe(`instance ${b.instanceId} vanished at local (was Running)`);
    const drift = await t.kloud.store.events.list({ limit: 1000 });
    expect(drift.map((e: Json) => e.message)).toContain(
      `unknown instance lm-stranger-0123456789 at local (tagged for machine ${stranger.machineId}, Stopped); left alone for an operator`,
    );
    expect(existsSync(copy)).toBe(true);
    rmSync(copy, { recursive: true });

    // Unknown only lets destroy through; destroy clears it.
    expect((await t.api('POST', `/api/v1/machines/${b.id}/start`)).status).toBe(409);
    const destroy = await t.api('POST', `/api/v1/machines/${b.id}/destroy`);
    await t.kloud.lifecycle.settled(destroy.body.eventId);
    expect((await state(b.id)).state).toBe('Terminated');
  });

  it('stops a machine idle past its limit, from klient.usage', async () => {
    const m = await built('provider: local', { idleStopMinutes: 1 / 120 });
    await waitFor('the idle stop', async () => {
      await t.kloud.jobs.sweepOnce();
      const s = await state(m.id);
      return s.state === 'Stopping' || s.state === 'Stopped' ? s : undefined;
    });
    await waitFor('stopped', async () => ((await state(m.id)).state === 'Stopped' ? true : undefined));
    expect((await messages(m.id)).some((x: string) => /^stopped after \d+ idle minute\(s\)/.test(x))).toBe(
      true,
    );
  });

  it('fails a build stuck past its deadline and cleans up what it made', async () => {
    const spec = machineSpec({ provider: 'local', provisioners: [{ name: 'hang', run: 'sleep 600' }] });
    const m = await t.kloud.store.machines.create(
      { provider: 'local', label: 'stuck', meta: { spec } },
      { id: t.adminId, username: 'admin' },
    );
    const accepted = await t.kloud.lifecycle.request(m.id, 'build', t.adminId);
    await waitFor('the provisioner to run', async () =>
      (await messages(m.id)).some((x: string) => x.startsWith('running provisioner hang')) ? true : undefined,
    );
    // The sweep fails it once it is older than the deadline (1 s here).
    await waitFor('the deadline sweep', async () => {
      await t.kloud.jobs.sweepOnce();
      return t.kloud.lifecycle.isRunningHere(accepted.eventId) ? undefined : true;
    });
    const s = await state(m.id);
    expect(s).toMatchObject({
      state: 'NotInitialized',
      stateReason: 'build failed: build exceeded its deadline of 1 s',
    });
    const listed = await t.kloud.providers
      .get('local')!
      .listTagged({ id: 'local', provider: 'local', secret: {} });
    expect(listed.filter((i) => i.machineId === m.id)).toEqual([]);
  });

  it('keeps a warm pool per template and hands a ready machine out on apply', async () => {
    const tpl = await t.kloud.store.templates.create(
      { title: 'pooled', content: 'warm_pool: 1\nmachines:\n  box:\n    provider: local\n' },
      t.adminId,
    );
    await t.kloud.jobs.sweepOnce();
    const pooled = await waitFor('a ready pool machine', async () => {
      const rows = await t.kloud.store.conn.db
        .selectFrom('machines')
        .select(['id', 'state'])
        .where('label', 'like', `pool:${tpl.id}:%`)
        .execute();
      return rows.length === 1 && rows[0]!.state === 'Running' ? rows[0]! : undefined;
    });
    const bob = await t.kloud.store.users.create({ username: 'carol' }, null);
    const carol = (await t.kloud.store.tokens.create(bob.id, { name: 't' }, null)).token;
    const stack = await t.kloud.store.stacks.create({ title: 'mine', templateId: tpl.id }, bob.id);
    const apply = await t.api('POST', `/api/v1/stacks/${stack.id}/apply`, {}, carol);
    expect(apply.status).toBe(202);
    await t.kloud.stacks.settled(apply.body.eventId);
    const described = (await t.api('GET', `/api/v1/stacks/${stack.id}/describe`, undefined, carol)).body;
    expect(described.machines).toHaveLength(1);
    expect(described.machines[0]).toMatchObject({
      id: pooled.id,
      state: 'Running',
      ownerId: bob.id,
      name: 'box',
    });
    // The next sweep builds a replacement.
    await t.kloud.jobs.sweepOnce();
    const again = await t.kloud.store.conn.db
      .selectFrom('machines')
      .select(['id'])
      .where('label', 'like', `pool:${tpl.id}:%`)
      .execute();
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(pooled.id);
  });
});
