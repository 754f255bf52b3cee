import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropConnections } from '../../../../test/support/postgres.js';
import { STORE_KINDS, storeHarness } from '../testing/stores.js';

describe.each(STORE_KINDS)('leases, jobs and events on %s', (kind) => {
  const harness = storeHarness(kind);
  beforeAll(() => harness.setup());
  afterAll(() => harness.teardown());

  async function machine() {
    const opened = await harness.open();
    const owner = await opened.store.users.create({ username: 'ada' }, null);
    const m = await opened.store.machines.create({ provider: 'local', label: 'box' }, owner);
    return { ...opened, owner, machine: m };
  }

  it('gives a machine lease to exactly one of many racing holders', async () => {
    const { store, machine: m } = await machine();
    const holders = Array.from({ length: 12 }, (_, i) => `kloud-${i}`);
    const got = await Promise.all(holders.map((h) => store.leases.acquire(m.id, h, 60_000)));
    expect(got.filter(Boolean)).toHaveLength(1);
    const winner = holders[got.indexOf(true)]!;
    expect((await store.leases.current(m.id))?.holder).toBe(winner);
    // The holder may take it again (extends it); nobody else may.
    expect(await store.leases.acquire(m.id, winner, 60_000)).toBe(true);
    expect(await store.leases.acquire(m.id, 'someone-else', 60_000)).toBe(false);
    expect(await store.leases.release(m.id, 'someone-else')).toBe(false);
    expect(await store.leases.release(m.id, winner)).toBe(true);
    expect(await store.leases.acquire(m.id, 'someone-else', 60_000)).toBe(true);
  });

  it('lets a lapsed lease (its holder died) be taken over, and refuses the dead holder a renewal', async () => {
    const { store, machine: m } = await machine();
    expect(await store.leases.acquire(m.id, 'dead', 0)).toBe(true);
    expect(await store.leases.current(m.id)).toBeUndefined();
    expect(await store.leases.acquire(m.id, 'alive', 60_000)).toBe(true);
    expect(await store.leases.renew(m.id, 'dead', 60_000)).toBe(false);
    expect(await store.leases.renew(m.id, 'alive', 60_000)).toBe(true);
  });

  it('refuses a lease on a machine that does not exist', async () => {
    const { store } = await machine();
    await expect(store.leases.acquire('0'.repeat(28), 'k', 1000)).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('hands every queued job to exactly one of several concurrent claimers', async () => {
    const { store, machine: m } = await machine();
    const queued = [];
    for (let i = 0; i < 20; i++)
      queued.push(await store.jobs.enqueue({ kind: 'build', machineId: m.id, payload: { i } }));
    const claimed: string[] = [];
    const worker = async (name: string) => {
      for (;;) {
        const job = await store.jobs.claim(name, 60_000);
        if (!job) return;
        claimed.push(job.id);
        expect(job).toMatchObject({ state: 'running', claimedBy: name, attempts: 1 });
        expect(await store.jobs.complete(job.id, name, { ok: true })).toBe(true);
      }
    };
    await Promise.all(['a', 'b', 'c', 'd'].map(worker));
    expect(claimed.sort()).toEqual(queued.map((j) => j.id).sort());
    const done = await store.jobs.list({ limit: 50, state: 'done' });
    expect(done.items).toHaveLength(20);
    expect(done.items[0]!.result).toEqual({ ok: true });
  });

  it('re-claims a job whose holder vanished and fails it once its attempts are spent', async () => {
    const { store } = await machine();
    const job = await store.jobs.enqueue({ kind: 'reconcile', maxAttempts: 2 });
    const first = await store.jobs.claim('dies', 0);
    expect(first?.id).toBe(job.id);
    expect(await store.jobs.complete(job.id, 'dies')).toBe(false); // its claim lapsed
    const second = await store.jobs.claim('also-dies', 0);
    expect(second).toMatchObject({ id: job.id, attempts: 2 });
    expect(await store.jobs.claim('third', 60_000)).toBeUndefined();
    const final = await store.jobs.get(job.id);
    expect(final).toMatchObject({ state: 'failed' });
    expect(final?.error).toContain('lease lapsed');
  });

  it('puts a failed attempt back in the queue only when asked to retry and attempts remain', async () => {
    const { store } = await machine();
    const job = await store.jobs.enqueue({ kind: 'build', maxAttempts: 2 });
    const claimed = await store.jobs.claim('k1', 60_000, ['build']);
    expect(await store.jobs.heartbeat(job.id, 'other', 60_000)).toBe(false);
    expect(await store.jobs.heartbeat(job.id, 'k1', 60_000)).toBe(true);
    expect(await store.jobs.fail(claimed!.id, 'k1', 'provider timeout', { retry: true })).toBe(true);
    expect((await store.jobs.get(job.id))?.state).toBe('queued');
    expect(await store.jobs.claim('k2', 60_000, ['destroy'])).toBeUndefined();
    await store.jobs.claim('k2', 60_000);
    expect(await store.jobs.fail(job.id, 'k2', 'still broken', { retry: true })).toBe(true);
    expect(await store.jobs.get(job.id)).toMatchObject({
      state: 'failed',
      error: 'still broken',
      attempts: 2,
    });
  });

  it('keeps job events in order for a late reader, by event, job or machine', async () => {
    const { store, machine: m } = await machine();
    const job = await store.jobs.enqueue({ kind: 'build', machineId: m.id });
    for (const [percentage, message] of [
      [10, 'creating instance'],
      [60, 'waiting for klient'],
      [100, 'running'],
    ] as const) {
      await store.events.append({
        eventId: `build-${m.id}`,
        jobId: job.id,
        machineId: m.id,
        message,
        percentage,
        status: 'Building',
      });
    }
    const all = await store.events.list({ machineId: m.id, limit: 10 });
    expect(all.map((e) => e.percentage)).toEqual([10, 60, 100]);
    const later = await store.events.list({ jobId: job.id, after: all[0]!.seq, limit: 10 });
    expect(later.map((e) => e.message)).toEqual(['waiting for klient', 'running']);
    expect(await store.events.list({ eventId: `build-${m.id}`, limit: 1 })).toHaveLength(1);
  });

  it.runIf(kind === 'postgres')(
    'shares leases and jobs between two processes’ stores without overlap',
    async () => {
      const first = await machine();
      const second = await harness.reopen(first);
      const { machine: m } = first;
      const leases = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? first.store : second).leases.acquire(m.id, `kloud-${i}`, 60_000),
        ),
      );
      expect(leases.filter(Boolean)).toHaveLength(1);
      for (let i = 0; i < 30; i++) await first.store.jobs.enqueue({ kind: 'build', machineId: m.id });
      const seen: string[] = [];
      const worker = async (store: typeof second, name: string) => {
        for (
          let job = await store.jobs.claim(name, 60_000);
          job;
          job = await store.jobs.claim(name, 60_000)
        ) {
          seen.push(job.id);
          await store.jobs.complete(job.id, name);
        }
      };
      await Promise.all([
        worker(first.store, 'a1'),
        worker(first.store, 'a2'),
        worker(second, 'b1'),
        worker(second, 'b2'),
      ]);
      expect(seen).toHaveLength(30);
      expect(new Set(seen).size).toBe(30);
    },
  );

  it('announces appended events to subscribers, across processes on PostgreSQL', async () => {
    const first = await machine();
    // PostgreSQL: the appender is another process's store; SQLite has one process.
    const appender = kind === 'postgres' ? await harness.reopen(first) : first.store;
    const other = await first.store.machines.create({ provider: 'local', label: 'other' }, first.owner);
    const heard: string[] = [];
    let gotTwo!: () => void;
    const two = new Promise<void>((resolve) => {
      gotTwo = resolve;
    });
    const stop = await first.store.events.subscribe(
      (e) => {
        heard.push(e.message);
        if (heard.length === 2) gotTwo();
      },
      { machineId: first.machine.id },
    );
    await appender.events.append({
      eventId: 'e',
      machineId: other.id,
      message: 'not mine',
      status: 'Building',
    });
    await appender.events.append({
      eventId: 'e',
      machineId: first.machine.id,
      message: 'one',
      status: 'Building',
    });
    await appender.events.append({
      eventId: 'e',
      machineId: first.machine.id,
      message: 'two',
      status: 'Running',
    });
    await two;
    expect(heard).toEqual(['one', 'two']);
    stop();
    let later!: (m: string) => void;
    const next = new Promise<string>((resolve) => {
      later = resolve;
    });
    const stopLater = await first.store.events.subscribe((e) => later(e.message));
    await appender.events.append({
      eventId: 'e',
      machineId: first.machine.id,
      message: 'three',
      status: 'Running',
    });
    expect(await next).toBe('three');
    expect(heard).toEqual(['one', 'two']);
    stopLater();
  });

  it.runIf(kind === 'postgres')('listens again after PostgreSQL drops the LISTEN connection', async () => {
    let restored!: () => void;
    const back = new Promise<void>((resolve) => {
      restored = resolve;
    });
    const first = await harness.open({ logger: { warn: () => undefined, info: () => restored() } });
    const owner = await first.store.users.create({ username: 'ada' }, null);
    let heard!: (m: string) => void;
    const message = new Promise<string>((resolve) => {
      heard = resolve;
    });
    await first.store.events.subscribe((e) => heard(e.message));
    await dropConnections(first.databaseUrl!);
    await back;
    await first.store.events.append({
      eventId: 'e',
      message: `after reconnect for ${owner.username}`,
      status: 'ok',
    });
    expect(await message).toBe('after reconnect for ada');
  });

  it.runIf(kind === 'postgres')(
    'reads on from the last event a subscriber saw when its LISTEN connection comes back',
    async () => {
      const restored: (() => void)[] = [];
      const first = await harness.open({
        logger: { warn: () => undefined, info: () => restored.shift()?.() },
      });
      const back = new Promise<void>((resolve) => restored.push(resolve));
      const heard: string[] = [];
      const waiters: (() => void)[] = [];
      await first.store.events.subscribe(
        (e) => {
          heard.push(e.message);
          waiters.shift()?.();
        },
        { machineId: 'm1' },
      );
      const next = () => new Promise<void>((resolve) => waiters.push(resolve));
      // An event whose NOTIFY this process never hears (written without one, as if sent while its
      // LISTEN connection was down), and one for another machine: only the catch-up can find them.
      const missed = {
        eventId: 'e',
        status: 'ok',
        at: Date.now(),
        jobId: null,
        percentage: null,
        error: null,
      };
      await first.store.conn.db
        .insertInto('events')
        .values([
          { ...missed, machineId: 'm1', message: 'missed' },
          { ...missed, machineId: 'm2', message: 'not mine' },
        ])
        .execute();
      const caughtUp = next();
      await dropConnections(first.databaseUrl!);
      await back;
      await caughtUp;
      const live = next();
      await first.store.events.append({ eventId: 'e', machineId: 'm1', message: 'live', status: 'ok' });
      await live;
      expect(heard).toEqual(['missed', 'live']);
    },
  );
});
