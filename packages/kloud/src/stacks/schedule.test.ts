import { describe, expect, it } from 'vitest';
import { runInOrder } from './schedule.js';

/** A task whose completion the test controls, recording start order. */
function controlled() {
  const started: string[] = [];
  const release = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const waiters: Array<() => void> = [];
  const task = (name: string) =>
    new Promise<void>((resolve, reject) => {
      started.push(name);
      release.set(name, { resolve, reject });
      for (const w of waiters.splice(0)) w();
    });
  const startedAll = async (...names: string[]) => {
    while (!names.every((n) => started.includes(n))) await new Promise<void>((r) => waiters.push(r));
  };
  return { started, release, task, startedAll };
}

describe('runInOrder', () => {
  it('runs independent nodes in parallel and dependents after their dependencies', async () => {
    const c = controlled();
    const done = runInOrder(
      [
        { name: 'db', dependsOn: [] },
        { name: 'cache', dependsOn: [] },
        { name: 'web', dependsOn: ['db', 'cache'] },
      ],
      c.task,
    );
    await c.startedAll('db', 'cache');
    expect(c.started).not.toContain('web');
    c.release.get('db')!.resolve();
    c.release.get('cache')!.resolve();
    await c.startedAll('web');
    c.release.get('web')!.resolve();
    const outcomes = await done;
    expect([...outcomes.values()].every((o) => o.status === 'succeeded')).toBe(true);
  });

  it('skips the dependents of a failed node and finishes the rest', async () => {
    const c = controlled();
    const done = runInOrder(
      [
        { name: 'db', dependsOn: [] },
        { name: 'web', dependsOn: ['db'] },
        { name: 'other', dependsOn: [] },
      ],
      c.task,
    );
    await c.startedAll('db', 'other');
    c.release.get('db')!.reject(new Error('boom'));
    c.release.get('other')!.resolve();
    const outcomes = await done;
    expect(outcomes.get('db')!.status).toBe('failed');
    expect(outcomes.get('web')).toEqual({ status: 'skipped', reason: '"db" did not complete' });
    expect(outcomes.get('other')!.status).toBe('succeeded');
  });

  it('tears down dependents first in reverse mode and respects the concurrency limit', async () => {
    const order: string[] = [];
    const outcomes = await runInOrder(
      [
        { name: 'db', dependsOn: [] },
        { name: 'web', dependsOn: ['db'] },
        { name: 'api', dependsOn: ['db'] },
      ],
      async (n) => {
        order.push(n);
      },
      { reverse: true, concurrency: 1 },
    );
    expect(order.at(-1)).toBe('db');
    expect(outcomes.size).toBe(3);
  });

  it('skips nodes caught in a cycle instead of hanging', async () => {
    const outcomes = await runInOrder(
      [
        { name: 'a', dependsOn: ['b'] },
        { name: 'b', dependsOn: ['a'] },
      ],
      async () => {},
    );
    expect(outcomes.get('a')).toEqual({ status: 'skipped', reason: 'dependency cycle' });
  });
});
