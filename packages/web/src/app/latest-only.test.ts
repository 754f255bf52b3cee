import { describe, expect, it } from 'vitest';
import { latestOnly } from './latest-only.js';

/** A run that waits to be let go, so the test decides when each one ends. */
function gatedRuns() {
  const gates: Array<() => void> = [];
  let started = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const run = () =>
    new Promise<void>((resolve) => {
      started++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      gates.push(() => {
        concurrent--;
        resolve();
      });
    });
  return { run, gates, stats: () => ({ started, maxConcurrent }) };
}

describe('latestOnly', () => {
  it('never runs twice at once; calls made during a run become exactly one run after it', async () => {
    const g = gatedRuns();
    const refresh = latestOnly(g.run);
    const first = refresh();
    const second = refresh();
    const third = refresh();
    expect(second).toBe(third);
    expect(g.stats()).toEqual({ started: 1, maxConcurrent: 1 });
    g.gates[0]!();
    await first;
    await Promise.resolve();
    expect(g.stats().started).toBe(2);
    g.gates[1]!();
    await second;
    expect(g.stats()).toEqual({ started: 2, maxConcurrent: 1 });
    // Idle again: the next call starts at once.
    const fourth = refresh();
    expect(g.stats().started).toBe(3);
    g.gates[2]!();
    await fourth;
  });

  it('runs the queued refresh even when the one before it failed', async () => {
    let calls = 0;
    const refresh = latestOnly(async () => {
      calls++;
      if (calls === 1) throw new Error('first failed');
    });
    const first = refresh();
    const second = refresh();
    await expect(first).rejects.toThrow('first failed');
    await second;
    expect(calls).toBe(2);
  });
});
