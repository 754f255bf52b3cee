/**
 * The lifecycle's rules against a real Kloud and real Klient processes: calls not allowed in
 * the current state are refused naming the state and the allowed calls; two concurrent builds
 * of one machine run exactly once; a failed build goes back to the previous state with its
 * reason and leaves nothing behind (or keeps the instance when the stack says so); a Klient
 * that stops answering shows offline and comes back by itself; sharing narrows and revokes.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPid } from '../../packages/kloud/src/providers/local/processes.js';
import { type Json, machineSpec, startTestKloud, type TestKloud, waitFor } from './harness.js';

let t: TestKloud;

beforeAll(async () => {
  t = await startTestKloud();
});
afterAll(async () => {
  await t?.cleanup();
});

/** A machine record with the spec of a one-machine template (what stack apply would create). */
async function newMachine(machineYaml = 'provider: local'): Promise<string> {
  const spec = machineSpec(machineYaml);
  const m = await t.kloud.store.machines.create(
    { provider: 'local', label: `m-${Math.random().toString(36).slice(2, 8)}`, meta: { spec } },
    { id: t.adminId, username: 'admin' },
  );
  return m.id;
}

async function call(machineId: string, action: string): Promise<{ status: number; body: Json }> {
  return t.api('POST', `/api/v1/machines/${machineId}/${action}`);
}

async function settle(machineId: string, eventId: string): Promise<Json> {
  await t.kloud.lifecycle.settled(eventId);
  return (await t.api('GET', `/api/v1/machines/${machineId}/state`)).body;
}

// Real processes on a machine other suites load too: generous, never a timing assertion.
describe('lifecycle rules', { timeout: 120_000 }, () => {
  it('refuses calls the state does not allow, naming the state and the allowed calls', async () => {
    const id = await newMachine();
    const stop = await call(id, 'stop');
    expect(stop.status).toBe(409);
    expect(stop.body.error).toMatchObject({
      code: 'conflict',
      details: { reason: 'invalid_state', state: 'NotInitialized', allowed: ['build', 'destroy'] },
    });
    expect(stop.body.error.message).toContain('it is NotInitialized; allowed: build, destroy');
    expect((await call('01a2000000000000000000000000', 'build')).status).toBe(404);
    expect((await call(id, 'explode')).status).toBe(404);
    const state = (await t.api('GET', `/api/v1/machines/${id}/state`)).body;
    expect(state).toMatchObject({ state: 'NotInitialized', allowed: ['build', 'destroy'] });
  });

  it('runs exactly one of two concurrent builds and refuses calls while it runs', async () => {
    const id = await newMachine();
    const [a, b] = await Promise.all([call(id, 'build'), call(id, 'build')]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const accepted = a.status === 202 ? a : b;
    const refused = a.status === 202 ? b : a;
    expect(refused.body.error.details).toMatchObject({
      reason: 'invalid_state',
      state: 'Building',
      allowed: [],
    });
    const busy = await call(id, 'destroy');
    expect(busy.status).toBe(409);
    expect((await settle(id, accepted.body.eventId)).state).toBe('Running');
    const jobs = await t.kloud.store.jobs.list({ machineId: id, limit: 10 });
    expect(jobs.items.map((j: Json) => j.kind)).toEqual(['machine.build']);
    const audit = await t.kloud.store.audit.list({ resourceType: 'machine', resourceId: id, limit: 20 });
    const transitions = audit.items
      .filter((e: Json) => e.action === 'machine.status')
      .map((e: Json) => [e.details.from, e.details.state]);
    expect(transitions.reverse()).toEqual([
      ['NotInitialized', 'Building'],
      ['Building', 'Running'],
    ]);
    const destroy = await call(id, 'destroy');
    expect((await settle(id, destroy.body.eventId)).state).toBe('Terminated');
    expect((await call(id, 'start')).body.error.details.allowed).toEqual(['build']);
  });

  it('rolls a failed build back to its previous state, keeping the reason and leaving nothing', async () => {
    const id = await newMachine(
      'provider: local\nprovisioners:\n  - name: broken\n    run: echo no disk >&2; exit 3',
    );
    const build = await call(id, 'build');
    const state = await settle(id, build.body.eventId);
    expect(state.state).toBe('NotInitialized');
    expect(state.stateReason).toBe('build failed: provisioner broken failed with exit code 3: no disk');
    const events = (await t.api('GET', `/api/v1/events/${build.body.eventId}`)).body.events;
    expect(events.at(-1)).toMatchObject({
      status: 'failed',
      error: 'provisioner broken failed with exit code 3: no disk',
    });
    const machines = join(t.dir, 'machines');
    expect(readdirSync(machines).filter((d) => d.includes(id))).toEqual([]);
  });

  it('keeps the instance of a failed build when the stack says keep', async () => {
    const id = await newMachine(
      'provider: local\non_build_failure: keep\nprovisioners:\n  - name: broken\n    run: exit 5',
    );
    const state = await settle(id, (await call(id, 'build')).body.eventId);
    expect(state.state).toBe('Running');
    expect(state.stateReason).toContain('kept for inspection');
    const destroy = await call(id, 'destroy');
    expect((await settle(id, destroy.body.eventId)).state).toBe('Terminated');
  });

  it('shows a Klient that stops answering offline, and online again when it comes back by itself', async () => {
    const id = await newMachine();
    expect((await settle(id, (await call(id, 'build')).body.eventId)).online).toBe(true);
    const machine = (await t.kloud.store.machines.get(id))!;
    const pid = (await readPid(
      join(String(machine.meta.provider && (machine.meta.provider as Json).directory), 'etc', 'klient.pid'),
    ))!;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor('machine offline', async () =>
        (await t.api('GET', `/api/v1/machines/${id}/state`)).body.online ? undefined : true,
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const back = await waitFor('machine online again', async () => {
      const s = (await t.api('GET', `/api/v1/machines/${id}/state`)).body;
      return s.online ? s : undefined;
    });
    expect(back.lastSeenAt).toBeGreaterThan(0);
    expect(existsSync(String((machine.meta.provider as Json).directory))).toBe(true);
  });

  it('shares a machine read-only, then revokes it and closes the live connection', async () => {
    const id = await newMachine();
    await settle(id, (await call(id, 'build')).body.eventId);
    const bob = await t.kloud.store.users.create({ username: 'bob' }, null);
    const bobToken = (await t.kloud.store.tokens.create(bob.id, { name: 't' }, null)).token;
    expect((await t.api('POST', `/api/v1/machines/${id}/token`, {}, bobToken)).status).toBe(404);

    const share = await t.api('PUT', `/api/v1/machines/${id}/users/${bob.id}`, {
      readonly: true,
      permanent: true,
    });
    expect(share.status).toBe(200);
    const grant = await t.api('POST', `/api/v1/machines/${id}/token`, {}, bobToken);
    expect(grant.body.scope).toBe('readonly');
    expect((await t.api('POST', `/api/v1/machines/${id}/stop`, undefined, bobToken)).status).toBe(403);
    const client = connect(grant.body.url, grant.body.token, { reconnect: false });
    let closed = false;
    client.onState((s) => {
      if (s === 'closed') closed = true;
    });
    expect((await client.call('klient.ping', {})).pong).toBe(true);
    await expect(client.call('exec.run', { command: 'true' })).rejects.toMatchObject({ code: 4003 });

    const unshare = await t.api('DELETE', `/api/v1/machines/${id}/users/${bob.id}`);
    expect(unshare.status).toBe(204);
    await waitFor('bob disconnected', async () => (closed ? true : undefined));
    client.close();
    expect((await t.api('POST', `/api/v1/machines/${id}/token`, {}, bobToken)).status).toBe(404);
    const again = connect(grant.body.url, grant.body.token, { reconnect: false });
    await expect(again.call('klient.ping', {}, { timeoutMs: 20_000 })).rejects.toBeTruthy();
    again.close();

    // A share that is not permanent ends when the machine is built anew; a permanent one stays.
    const dave = await t.kloud.store.users.create({ username: 'dave' }, null);
    await t.api('PUT', `/api/v1/machines/${id}/users/${bob.id}`, { permanent: false });
    await t.api('PUT', `/api/v1/machines/${id}/users/${dave.id}`, { permanent: true });
    await settle(id, (await call(id, 'destroy')).body.eventId);
    await settle(id, (await call(id, 'build')).body.eventId);
    expect((await t.kloud.store.machines.get(id))!.users.map((u) => u.userId)).toEqual([dave.id]);
  });
});
