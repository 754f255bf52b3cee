import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsWatchEvent } from '@kk/protocol/catalogue/fs.js';
import type { RpcClient } from '@kk/protocol/client/client.js';
import { ErrorCode } from '@kk/protocol/errors.js';
import type { StreamReader } from '@kk/protocol/streams/reader.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlient, type TestKlient } from '../testing/harness.js';

let t: TestKlient;
let client: RpcClient;

beforeAll(async () => {
  t = await startTestKlient({ maxWatchesPerConnection: 3 });
  client = await t.connect('readonly');
});
afterAll(() => t.close());

/** Reads events until `until` holds for the ones seen so far. */
async function collect(
  reader: StreamReader,
  until: (events: FsWatchEvent[]) => boolean,
): Promise<FsWatchEvent[]> {
  const events: FsWatchEvent[] = [];
  const iterator = reader[Symbol.asyncIterator]();
  while (!until(events)) {
    const next = await iterator.next();
    if (next.done) break;
    events.push(next.value as FsWatchEvent);
  }
  return events;
}

describe('fs.readDirectory watch', () => {
  it('delivers added, changed and removed for the directory, not its subtree', async () => {
    const dir = join(t.home, 'watched');
    await mkdir(join(dir, 'deep'), { recursive: true });
    const page = await client.call('fs.readDirectory', { path: 'watched', watch: true });
    expect(page.entries.map((e) => e.name)).toEqual(['deep']);
    const reader = client.openReader(page.watchId!);

    await writeFile(join(dir, 'deep', 'ignored.txt'), 'not ours');
    await writeFile(join(dir, 'a.txt'), 'one');
    const added = await collect(reader, (ev) => ev.some((e) => e.name === 'a.txt'));
    expect(added.find((e) => e.name === 'a.txt')).toMatchObject({
      type: 'added',
      path: join(dir, 'a.txt'),
      entry: { type: 'file', size: 3 },
    });

    await writeFile(join(dir, 'a.txt'), 'longer content');
    const changed = await collect(reader, (ev) =>
      ev.some((e) => e.type === 'changed' && e.entry?.size === 14),
    );
    expect(changed.every((e) => e.name === 'a.txt')).toBe(true);

    await mkdir(join(dir, 'newdir'));
    await rm(join(dir, 'a.txt'));
    const rest = await collect(
      reader,
      (ev) =>
        ev.some((e) => e.type === 'removed' && e.name === 'a.txt') && ev.some((e) => e.name === 'newdir'),
    );
    expect(rest.find((e) => e.name === 'newdir')).toMatchObject({
      type: 'added',
      entry: { type: 'directory' },
    });
    expect(rest.find((e) => e.type === 'removed')).toEqual({
      type: 'removed',
      name: 'a.txt',
      path: join(dir, 'a.txt'),
    });
    expect([...added, ...changed, ...rest].some((e) => e.name === 'ignored.txt')).toBe(false);

    expect(await client.call('fs.unwatch', { watchId: page.watchId! })).toEqual({ stopped: true });
    expect(await reader.done).toEqual({ stopped: true });
    expect(await client.call('fs.unwatch', { watchId: page.watchId! })).toEqual({ stopped: false });
  });

  it('ends the watch when the directory itself goes away', async () => {
    const dir = join(t.home, 'doomed');
    await mkdir(dir);
    const page = await client.call('fs.readDirectory', { path: 'doomed', watch: true });
    const reader = client.openReader(page.watchId!);
    await rm(dir, { recursive: true });
    for await (const _ of reader) {
      // drain whatever came before the end
    }
    expect(await reader.done).toMatchObject({ stopped: true, reason: expect.stringContaining('removed') });
    expect(await client.call('fs.unwatch', { watchId: page.watchId! })).toEqual({ stopped: false });
  });

  it('caps watches per connection; a cancelled or unwatched one frees its place', async () => {
    const c = await t.connect('readonly');
    const ids: number[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await c.call('fs.readDirectory', { path: '.', watch: true })).watchId!);
    await expect(c.call('fs.readDirectory', { path: '.', watch: true })).rejects.toMatchObject({
      code: ErrorCode.RateLimited,
      message: expect.stringContaining('at most 3'),
    });
    // Listing without a watch is still fine.
    await c.call('fs.readDirectory', { path: '.' });
    await c.call('fs.unwatch', { watchId: ids[0]! });
    const again = await c.call('fs.readDirectory', { path: '.', watch: true });
    c.openReader(again.watchId!).cancel();
    await expect
      .poll(
        () => c.call('fs.readDirectory', { path: '.', watch: true }).then((r) => r.watchId !== undefined),
        {
          timeout: 20_000,
        },
      )
      .toBe(true);
    // Another connection has its own allowance.
    const other = await t.connect('readonly');
    expect((await other.call('fs.readDirectory', { path: '.', watch: true })).watchId).toBeDefined();
  });

  it('refuses to watch what cannot be listed, holding no watch afterwards', async () => {
    const c = await t.connect('readonly');
    await writeFile(join(t.home, 'file.txt'), '');
    for (let i = 0; i < 4; i++) {
      await expect(c.call('fs.readDirectory', { path: 'missing', watch: true })).rejects.toMatchObject({
        code: ErrorCode.NotFound,
      });
      await expect(c.call('fs.readDirectory', { path: 'file.txt', watch: true })).rejects.toMatchObject({
        code: ErrorCode.InvalidParams,
      });
    }
    expect((await c.call('fs.readDirectory', { path: '.', watch: true })).watchId).toBeDefined();
  });

  it('fails an overflowing watch instead of queueing without bound', async () => {
    const small = await startTestKlient({ maxQueuedWatchEvents: 5 });
    try {
      const c = await small.connect('readonly');
      const page = await c.call('fs.readDirectory', { path: '.', watch: true });
      const reader = c.openReader(page.watchId!);
      // A burst of 2000 new files outruns a queue of 5 (each event is described before it is sent).
      await Promise.all(Array.from({ length: 2000 }, (_, i) => writeFile(join(small.home, `f${i}`), '')));
      await expect(reader.done).rejects.toMatchObject({ code: ErrorCode.TooLarge });
    } finally {
      await small.close();
    }
  });
});
