/** Every limit of a connection, with its default. Each is an option of the server and the client. */
export interface Limits {
  /** Largest frame accepted; a larger one closes the connection with 1009. */
  maxFrameBytes: number;
  /** Requests one connection may have executing at once; the next is answered RateLimited. */
  maxInFlight: number;
  /** Interval of WebSocket pings; a peer that misses two is considered dead. */
  heartbeatMs: number;
  /** Socket `bufferedAmount` above which stream producers wait (`stream.ready()`). */
  highWaterBytes: number;
  /** Default client-side timeout of one call. */
  callTimeoutMs: number;
  /** Data for a stream nobody has opened yet is kept at most this long, then cancelled. */
  unclaimedStreamMs: number;
}

export const defaultLimits: Limits = {
  maxFrameBytes: 16 * 1024 * 1024,
  maxInFlight: 256,
  heartbeatMs: 15_000,
  highWaterBytes: 1024 * 1024,
  callTimeoutMs: 30_000,
  unclaimedStreamMs: 30_000,
};

export function resolveLimits(overrides: Partial<Limits> | undefined): Limits {
  const limits = { ...defaultLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`limit ${name} must be a positive number, got ${String(value)}`);
    }
  }
  return limits;
}
