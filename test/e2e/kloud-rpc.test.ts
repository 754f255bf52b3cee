/**
 * Kloud's own RPC methods over WebSocket (`/api/v1/rpc`, API token): the same operations as
 * the REST API — plan, apply, describeStack, build/stop/destroy, info, events — and live
 * progress as a stream that starts with the events already stored.
 */
import { connect } from '@kk/protocol/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, startTestKloud, type TestKloud, waitFor } from './harness.js';

let t: TestKloud;

beforeAll(async () => {
  t = await startTestKloud();
});
afterAll(async () => {
  await t?.cleanup();
});

// Real processes on a machine other suites load too: generous, never a timing assertion.
describe('Kloud RPC', { timeout: 120_000 }, () => {
  it('refuses a connection without a valid API token', async () => {
    const bad = connect(`${t.kloud.url.replace('http', 'ws')}/api/v1/rpc`, 'kk_nope', { reconnect: false });
    await expect(bad.call('kloud.info', { machineId: 'x' }, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 4001,
    });
    bad.close();
  });

  it('plans, applies, streams progress, stops and destroys through RPC', async () => {
    const rpc = connect(`${t.kloud.url.replace('http', 'ws')}/api/v1/rpc`, t.token, { reconnect: false });
    try {
      const tpl = await t.kloud.store.templates.create(
        { title: 'one', content: 'machines:\n  a:\n    provider: local\n' },
        t.adminId,
      );
      const stack = await t.kloud.store.stacks.create({ title: 'rpc', templateId: tpl.id }, t.adminId);
      const plan = await rpc.call('kloud.plan', { stackId: stack.id });
      expect(plan.actions.map((a) => a.action)).toEqual(['create']);
      await expect(
        rpc.call('kloud.plan', { stackId: stack.id, variables: { nope: 1 } }),
      ).rejects.toMatchObject({
        code: -32602,
        message: 'variables.nope: not declared by the template',
      });

      const applied = await rpc.call('kloud.apply', { stackId: stack.id });
      const sub = await rpc.call('kloud.subscribe', { eventId: applied.eventId });
      const seen: string[] = [];
      for await (const e of rpc.openReader(sub.streamId)) {
        const event = e as Json;
        seen.push(event.message);
        if (event.status === 'done' || event.status === 'failed') break;
      }
      expect(seen[0]).toMatch(/^applying 1 change/);
      expect(seen.at(-1)).toBe('stack applied');

      const described = await rpc.call('kloud.describeStack', { stackId: stack.id });
      const machineId = described.machines[0]!.id;
      expect(described.machines[0]).toMatchObject({ name: 'a', state: 'Running', online: true });

      const illegal = rpc.call('kloud.start', { machineId });
      await expect(illegal).rejects.toMatchObject({
        code: 4010,
        data: { state: 'Running', allowed: ['stop', 'restart', 'destroy'] },
      });

      const stop = await rpc.call('kloud.stop', { machineId });
      expect(stop).toMatchObject({ machineId, action: 'stop', state: 'Stopping' });
      const machineEvents = await rpc.call('kloud.subscribe', { machineId });
      for await (const e of rpc.openReader(machineEvents.streamId)) {
        if ((e as Json).eventId === stop.eventId && (e as Json).status === 'Stopped') break;
      }
      expect((await rpc.call('kloud.info', { machineId })).state).toBe('Stopped');
      const events = await rpc.call('kloud.events', { eventId: stop.eventId });
      expect(events.events.at(-1)).toMatchObject({
        message: 'stop completed',
        percentage: 100,
        status: 'Stopped',
      });

      const destroy = await rpc.call('kloud.destroyStack', { stackId: stack.id });
      await t.kloud.stacks.settled(destroy.eventId);
      await waitFor('terminated', async () =>
        (await rpc.call('kloud.info', { machineId })).state === 'Terminated' ? true : undefined,
      );
      await expect(rpc.call('kloud.info', { machineId: 'nope' })).rejects.toMatchObject({ code: 4004 });
    } finally {
      rpc.close();
    }
  });
});
