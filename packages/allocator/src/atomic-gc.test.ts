import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * A fresh process calls collectGarbageAtomically() and then keeps growing its old generation
 * until V8 collects it, counting the collections V8 reports after the call by kind (Node's
 * `gc` performance entries): without the setting they include incremental marking.
 */
async function collectionsAfterGrowth(env: NodeJS.ProcessEnv) {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { collectGarbageAtomically } from '@kk/allocator';
    const result = collectGarbageAtomically();
    const kinds = { incremental: 0, major: 0 };
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) kinds.incremental++;
        if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) kinds.major++;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    const kept = [];
    for (let i = 0; i < 3e6; i++) kept.push({ i, text: 'x' + i });
    // Entries are delivered asynchronously: one turn of the event loop before reporting.
    setTimeout(() => console.log(JSON.stringify({ result, kinds, kept: kept.length })), 50);`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout) as { result: unknown; kinds: { incremental: number; major: number } };
}

describe('collectGarbageAtomically', () => {
  it('collects the old generation in single pauses, never marking incrementally', async () => {
    // Undefined drops a KK_ATOMIC_GC=0 the test runner's own environment might carry.
    const atomic = await collectionsAfterGrowth({ KK_ATOMIC_GC: undefined });
    expect(atomic.result).toEqual({ applied: true });
    expect(atomic.kinds.major).toBeGreaterThan(0);
    expect(atomic.kinds.incremental).toBe(0);
  });

  it('is turned off by KK_ATOMIC_GC=0, which leaves V8 marking incrementally', async () => {
    const incremental = await collectionsAfterGrowth({ KK_ATOMIC_GC: '0' });
    expect(incremental.result).toEqual({
      applied: false,
      reason: "turned off by KK_ATOMIC_GC=0: V8's incremental marking",
    });
    expect(incremental.kinds.incremental).toBeGreaterThan(0);
  });
});
