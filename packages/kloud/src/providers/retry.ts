/**
 * The two bounded loops every cloud provider needs: retrying a call the cloud refused for a
 * passing reason (throttling, 5xx, a dropped connection), and polling until an instance or an
 * action reaches the state we asked for. Both give up at a stated bound, so no provider call
 * can hang a job forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from './errors.js';

export interface RetryOptions {
  /** Calls in all, the first included. */
  attempts: number;
  /** The ceiling of the first backoff; it doubles per attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetry: RetryOptions = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

export interface RetryPolicy {
  /** True when the failure may pass if we try again. */
  retryable(error: unknown): boolean;
  /** A delay the server asked for (Retry-After, a rate-limit reset), when it said one. */
  retryAfterMs?(error: unknown): number | undefined;
  /** Told about each failure that will be retried, for logs. */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
}

/**
 * The backoff before retry number `attempt` (1-based): "full jitter", a uniform pick in
 * [0, min(max, base·2^(attempt-1))], so many callers throttled together do not return together.
 */
export function backoffDelay(
  attempt: number,
  options: RetryOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `op` until it succeeds, fails with an error the policy calls not retryable, or has run
 * `options.attempts` times; then throws the last error unchanged so the caller can map it.
 */
export async function withRetry<T>(
  op: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = defaultRetry,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !policy.retryable(error) || signal?.aborted) throw error;
      const asked = policy.retryAfterMs?.(error);
      const delay =
        asked === undefined ? backoffDelay(attempt, options) : Math.min(asked, options.maxDelayMs);
      policy.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, { signal });
    }
  }
}

export interface PollOptions {
  intervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Thrown by `pollUntil` when the deadline passes; carries the last value seen. */
export class PollTimeoutError<T> extends Error {
  constructor(
    message: string,
    readonly last: T | undefined,
  ) {
    super(message);
    this.name = 'PollTimeoutError';
  }
}

/**
 * Calls `read` every `intervalMs` until `done(value)` holds, and returns that value; throws
 * `PollTimeoutError` once `timeoutMs` has passed without it. `read` errors propagate at once:
 * retrying them is `read`'s business (it is usually a `withRetry` call).
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  options: PollOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() + options.intervalMs > deadline) {
      throw new PollTimeoutError(`timed out after ${options.timeoutMs} ms waiting for ${what}`, last);
    }
    await sleep(options.intervalMs, undefined, { signal: options.signal });
  }
}

/** `pollUntil` for a provider: a deadline that passes is a `transient` ProviderError (the cloud was slow). */
export async function providerWait<T>(
  provider: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  options: PollOptions,
): Promise<T> {
  try {
    return await pollUntil(read, done, what, options);
  } catch (error) {
    if (error instanceof PollTimeoutError)
      throw new ProviderError(provider, 'transient', error.message, { cause: error });
    throw error;
  }
}
