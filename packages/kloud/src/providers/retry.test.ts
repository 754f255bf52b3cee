import { describe, expect, it } from 'vitest';
import { backoffDelay, PollTimeoutError, pollUntil, withRetry } from './retry.js';

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const transient = Object.assign(new Error('slow down'), { retry: true });
const fatal = Object.assign(new Error('bad image'), { retry: false });
const policy = { retryable: (e: unknown) => (e as { retry?: boolean }).retry === true };

describe('withRetry', () => {
  it('retries a retryable failure and returns the later success', async () => {
    const seen: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw transient;
        return 'ok';
      },
      policy,
      fast,
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('stops at the attempt bound and throws the last error unchanged', async () => {
    let calls = 0;
    const retried: number[] = [];
    await expect(
      withRetry(
        async () => {
          calls++;
          throw transient;
        },
        { ...policy, onRetry: (_e, attempt) => retried.push(attempt) },
        fast,
      ),
    ).rejects.toBe(transient);
    expect(calls).toBe(4);
    expect(retried).toEqual([1, 2, 3]);
  });

  it('does not retry a failure the policy calls final', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw fatal;
        },
        policy,
        fast,
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially under the cap, with the jitter spanning [0, ceiling)', () => {
    const options = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(1, options, () => 0.999)).toBe(99);
    expect(backoffDelay(3, options, () => 0.999)).toBe(399);
    expect(backoffDelay(8, options, () => 0.999)).toBe(999);
    expect(backoffDelay(8, options, () => 0)).toBe(0);
  });
});

describe('pollUntil', () => {
  it('returns the first value that satisfies the condition', async () => {
    let n = 0;
    const value = await pollUntil(
      async () => ++n,
      (v) => v === 3,
      'three',
      { intervalMs: 1, timeoutMs: 10_000 },
    );
    expect(value).toBe(3);
  });

  it('gives up at the deadline with the last value seen', async () => {
    const error = await pollUntil(
      async () => 'pending',
      () => false,
      'never',
      { intervalMs: 5, timeoutMs: 20 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PollTimeoutError);
    expect((error as PollTimeoutError<string>).last).toBe('pending');
  });
});
