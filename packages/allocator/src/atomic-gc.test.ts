import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * A fresh process calls collectGarbageAtomically() and then keeps growing its old generation
 * until V8 collects it; it prints the result, and the collections V8 reported (--trace-gc)
 * after the call, which without the setting include incremental marking steps.
 */
async function collectionsAfterGrowth(env: NodeJS.ProcessEnv) {
  const script = `
    import { collectGarbageAtomically } from '@kk/allocator';
    const result = collectGarbageAtomically();
    console.log('-- applied --');
    const kept = [];
    for (let i = 0; i < 3e6; i++) kept.push({ i, text: 'x' + i });
    process.stderr.write(JSON.stringify({ result, kept: kept.length }));`;
  const { stdout, stderr } = await run(
    process.execPath,
    ['--trace-gc', '--import', 'tsx', '--input-type=module', '-e', script],
    { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
  );
  // Only what V8 did after the call (loading tsx may have collected before it).
  const after = stdout.slice(stdout.indexOf('-- applied --'));
  const marks = after.split('\n').filter((line) => line.includes('Mark-Compact'));
  return { ...(JSON.parse(stderr) as { result: unknown }), marks };
}

describe('collectGarbageAtomically', () => {
  it('collects the old generation in single pauses, with no incremental marking steps', async () => {
    const atomic = await collectionsAfterGrowth({});
    expect(atomic.result).toEqual({ applied: true });
    expect(atomic.marks.length).toBeGreaterThan(0);
    for (const line of atomic.marks) expect(line).not.toMatch(/steps since start of marking/);
  });

  it('is turned off by KK_ATOMIC_GC=0, which leaves V8 marking incrementally', async () => {
    const incremental = await collectionsAfterGrowth({ KK_ATOMIC_GC: '0' });
    expect(incremental.result).toEqual({
      applied: false,
      reason: "turned off by KK_ATOMIC_GC=0: V8's incremental marking",
    });
    expect(incremental.marks.some((line) => /steps since start of marking/.test(line))).toBe(true);
  });
});
