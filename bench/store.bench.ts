/**
 * The backend store with 10,000 machines: a list page, a single read and conditional (If-Match)
 * updates, on the SQLite file (ours, the default) and on PostgreSQL (the peer) in the same run.
 * Both commit durably: SQLite synchronous=FULL, PostgreSQL fsync=on.
 */
import { performance } from 'node:perf_hooks';
import { newId } from '../packages/backend/src/ids.js';
import type { Store } from '../packages/backend/src/index.js';
import { machineUid } from '../packages/backend/src/repos/machines.js';
import { type StoreKind, storeHarness } from '../packages/backend/src/testing/stores.js';
import { type BenchRow, percentile } from './row.js';

const MACHINES = 10_000;
const READS = 2_000;
const PAGES = 300;
const UPDATES = 500;
const WRITERS = 4;

interface Figures {
  listP50: number;
  listP99: number;
  readP50: number;
  readP99: number;
  updatesPerSecond: number;
  concurrentUpdatesPerSecond: number;
}

async function seed(store: Store): Promise<{ ids: string[]; ownerId: string }> {
  const owner = await store.users.create({ username: 'bench' }, null);
  const ids: string[] = [];
  const now = Date.now();
  for (let start = 0; start < MACHINES; start += 500) {
    const rows = Array.from({ length: Math.min(500, MACHINES - start) }, (_, i) => {
      const id = newId();
      ids.push(id);
      return {
        id,
        uid: machineUid('bench', 'team', 'aws'),
        ownerId: owner.id,
        groupId: null,
        stackId: null,
        provider: 'aws',
        label: `machine-${start + i}`,
        meta: JSON.stringify({ region: 'eu-west-1', size: 't3.small', index: start + i }),
        state: 'Running',
        stateReason: 'seeded',
        stateModifiedAt: now,
        queryString: `kite/${id}`,
        ipAddress: '10.0.0.1',
        credentialId: null,
        provisioners: '[]',
        kiteId: null,
        instanceId: `i-${id.slice(-12)}`,
        online: 1,
        lastSeenAt: now,
        linkHolder: 'kloud-1',
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
    });
    await store.conn.write((trx) =>
      trx
        .insertInto('machines')
        .values(rows)
        .execute()
        .then(() => undefined),
    );
  }
  return { ids, ownerId: owner.id };
}

const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;

async function timed(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

async function measure(kind: StoreKind): Promise<Figures> {
  const harness = storeHarness(kind, { fsync: true });
  await harness.setup();
  try {
    const { store } = await harness.open();
    const { ids, ownerId } = await seed(store);
    const viewer = await store.viewer(ownerId);
    const versions = new Map(ids.map((id) => [id, 1]));
    await timed(50, () => store.machines.get(pick(ids))); // warm caches and the pool
    const list = await timed(PAGES, () => store.machines.list(viewer, { limit: 50, cursor: pick(ids) }));
    const read = await timed(READS, () => store.machines.get(pick(ids)));
    const update = async () => {
      const id = pick(ids);
      const version = versions.get(id)!;
      versions.set(id, version + 1); // claim it before awaiting so concurrent writers pick fresh versions
      await store.machines.update(id, { label: `renamed-${version}` }, version, ownerId);
    };
    let t = performance.now();
    await timed(UPDATES, update);
    const sequential = UPDATES / ((performance.now() - t) / 1000);
    t = performance.now();
    await Promise.all(Array.from({ length: WRITERS }, () => timed(UPDATES / WRITERS, update)));
    const concurrent = UPDATES / ((performance.now() - t) / 1000);
    return {
      listP50: percentile(list, 50),
      listP99: percentile(list, 99),
      readP50: percentile(read, 50),
      readP99: percentile(read, 99),
      updatesPerSecond: sequential,
      concurrentUpdatesPerSecond: concurrent,
    };
  } finally {
    await harness.teardown();
  }
}

export async function run(): Promise<BenchRow[]> {
  const sqlite = await measure('sqlite');
  const pg = await measure('postgres');
  const peer = 'PostgreSQL (loopback, fsync on)';
  const note = `${MACHINES} machines; SQLite synchronous=FULL, WAL`;
  const row = (figure: string, key: keyof Figures, unit: string, better: 'lower' | 'higher'): BenchRow => ({
    figure,
    value: sqlite[key],
    unit,
    peer,
    peerValue: pg[key],
    better,
    note,
  });
  return [
    row('machines list page (50 + shares) p50', 'listP50', 'ms', 'lower'),
    row('machines list page (50 + shares) p99', 'listP99', 'ms', 'lower'),
    row('machine read by id p50', 'readP50', 'ms', 'lower'),
    row('machine read by id p99', 'readP99', 'ms', 'lower'),
    row('conditional updates, 1 writer', 'updatesPerSecond', 'updates/s', 'higher'),
    row(`conditional updates, ${WRITERS} writers`, 'concurrentUpdatesPerSecond', 'updates/s', 'higher'),
  ];
}
