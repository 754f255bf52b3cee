/**
 * Repeated failed logins from one address are refused for a while (HTTP 429 with Retry-After)
 * before their token is even checked, so guessing tokens is slow and cheap to refuse.
 * Memory is bounded: stale addresses are pruned, and at most `maxTracked` are remembered.
 */
export interface AuthThrottleOptions {
  /** Failures allowed per address within `windowMs`. */
  maxFailures: number;
  windowMs: number;
  maxTracked: number;
}

export const defaultAuthThrottle: AuthThrottleOptions = {
  maxFailures: 20,
  windowMs: 60_000,
  maxTracked: 10_000,
};

export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly options: AuthThrottleOptions;

  constructor(options: Partial<AuthThrottleOptions> = {}) {
    this.options = { ...defaultAuthThrottle, ...options };
  }

  /** Milliseconds until this address may try again, or 0 when it may try now. */
  retryAfter(address: string, now = Date.now()): number {
    const recent = this.recent(address, now);
    if (recent.length < this.options.maxFailures) return 0;
    return Math.max(1, recent[0]! + this.options.windowMs - now);
  }

  fail(address: string, now = Date.now()): void {
    const recent = this.recent(address, now);
    recent.push(now);
    this.failures.delete(address);
    this.failures.set(address, recent);
    if (this.failures.size > this.options.maxTracked) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  get tracked(): number {
    return this.failures.size;
  }

  private recent(address: string, now: number): number[] {
    const list = this.failures.get(address);
    if (!list) return [];
    const fresh = list.filter((t) => now - t < this.options.windowMs);
    if (fresh.length === 0) this.failures.delete(address);
    else if (fresh.length !== list.length) this.failures.set(address, fresh);
    return fresh;
  }
}
