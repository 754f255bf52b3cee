export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 200, maxMs: 10_000, factor: 2 };

/** Exponential backoff with full jitter: a uniformly random delay up to the capped exponential. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = defaultBackoff,
  random = Math.random,
): number {
  const cap = Math.min(options.maxMs, options.initialMs * options.factor ** attempt);
  return Math.round(options.initialMs / 2 + random() * (cap - options.initialMs / 2));
}
