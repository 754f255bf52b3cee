/**
 * The claim that fences a job (jobstore.ts), on a real SQLite store: kept while renewals
 * succeed, lost when another holder took the row or when no renewal succeeded for a lease, and
 * a holder that lost it can neither record progress nor end the job.
 */
import { storeHarness } from '@kk/backend/testing/stores.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginAction, ClaimLost, finishJob, keepClaim, saveProgress } from './jobstore.js';

const harness = storeHarness('sqlite');
beforeAll(() => harness.setup());
afterAll(() => harness.teardown());

async function buildingMachine(leaseMs: number) {
  const { store } = await harness.open();
  const owner = await store.users.create({ username: 'ada' }, null);
  const machine = await store.machines.create(
    { provider: 'local', label: 'box' },
    { id: owner.id, username: owner.username },
  );
  const { job } = await beginAction(store.conn, {
    machineId: machine.id,
    action: 'build',
    actorId: owner.id,
    holder: 'kloud-a',
    leaseMs,
    maxAttempts: 3,
  });
  const expiry = async () =>
    Number(
      (
        await store.conn.db
          .selectFrom('jobs')
          .select('leaseExpiresAt')
          .where('id', '=', job.id)
          .executeTakeFirst()
      )?.leaseExpiresAt,
    );
  return { store, machine, job, expiry };
}

describe('a job claim', () => {
  it('is kept while renewals succeed', async () => {
    const { store, job, expiry } = await buildingMachine(300);
    let lost = false;
    const stop = keepClaim(store.conn, job, 'kloud-a', 300, { lost: () => (lost = true), error: () => {} });
    try {
      // Three renewals seen in the row, the claim never reported lost meanwhile.
      let seen = await expiry();
      for (let renewals = 0; renewals < 3; ) {
        await new Promise((r) => setTimeout(r, 20));
        const now = await expiry();
        if (now > seen) {
          renewals++;
          seen = now;
        }
        expect(lost).toBe(false);
      }
    } finally {
      stop();
    }
  });

  it('is lost when another holder took the job over', async () => {
    const { store, job } = await buildingMachine(300);
    const lost = new Promise<void>((resolve) => {
      keepClaim(store.conn, job, 'kloud-a', 300, { lost: resolve, error: () => {} });
    });
    await store.conn.db.updateTable('jobs').set({ claimedBy: 'kloud-b' }).where('id', '=', job.id).execute();
    await lost;
  });

  it('is lost when no renewal succeeds for a lease (the database out of reach)', async () => {
    const { store, job } = await buildingMachine(300);
    const errors: unknown[] = [];
    const lost = new Promise<void>((resolve) => {
      keepClaim(store.conn, job, 'kloud-a', 300, { lost: resolve, error: (err) => errors.push(err) });
    });
    await store.close();
    await lost;
    expect(errors.length).toBeGreaterThan(0);
  });

  it('once taken over, lets the old holder neither record progress nor end the job', async () => {
    const { store, machine, job } = await buildingMachine(30_000);
    await store.conn.db.updateTable('jobs').set({ claimedBy: 'kloud-b' }).where('id', '=', job.id).execute();
    job.payload.step = 'created';
    await expect(saveProgress(store.conn.db, job)).rejects.toBeInstanceOf(ClaimLost);
    await expect(
      finishJob(store.conn, job, {
        ok: true,
        state: 'Running',
        reason: 'build completed',
        event: {
          eventId: job.id,
          message: 'build completed',
          percentage: 100,
          status: 'Running',
          at: Date.now(),
        },
      }),
    ).rejects.toBeInstanceOf(ClaimLost);
    const row = await store.conn.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', job.id)
      .executeTakeFirst();
    expect(row).toMatchObject({ state: 'running', claimedBy: 'kloud-b' });
    expect(JSON.parse(row!.payload).step).toBeUndefined();
    expect((await store.machines.get(machine.id))?.status.state).toBe('Building');
    expect(await store.events.list({ jobId: job.id, limit: 10 })).toHaveLength(1);
  });
});
