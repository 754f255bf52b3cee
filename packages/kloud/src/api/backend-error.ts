/**
 * Kloud's errors in the REST API's one error shape (the backend's codes). A call refused by the
 * state table is a `conflict` whose details say so (`reason: 'invalid_state'`, the state, the
 * calls allowed now); a machine busy with another job is a `conflict` with `reason: 'busy'`.
 * Over RPC the same errors keep their own codes (InvalidState 4010, Conflict 4009).
 */
import { BackendError, type ErrorCode } from '@kk/backend/errors.js';
import { isKloudError, KloudError, type KloudErrorName } from '../errors.js';

const codes: Record<KloudErrorName, ErrorCode> = {
  InvalidParams: 'invalid_request',
  Unauthenticated: 'unauthenticated',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  Conflict: 'conflict',
  InvalidState: 'conflict',
  Timeout: 'unavailable',
  Unavailable: 'unavailable',
  Internal: 'internal',
};

const reasons: Partial<Record<KloudErrorName, string>> = { InvalidState: 'invalid_state', Conflict: 'busy' };

export function asBackendError(err: unknown): unknown {
  if (!isKloudError(err)) return err;
  const reason = reasons[err.kind];
  const details = err.data || reason ? { ...(reason ? { reason } : {}), ...(err.data ?? {}) } : undefined;
  return new BackendError(codes[err.kind], err.message, details);
}

/**
 * The store out of reach (BackendError `unavailable`: the database restarting or gone) as Kloud's
 * Unavailable, so RPC callers, Klients and tunnel callers hear 4503/503 and retry; anything else
 * is returned as it is.
 */
export function storeUnavailable(err: unknown): unknown {
  return isStoreUnavailable(err) ? new KloudError('Unavailable', err.message) : err;
}

/** The database out of reach (restarting, unreachable): expected, and retried by whoever asked. */
export function isStoreUnavailable(err: unknown): err is BackendError & { code: 'unavailable' } {
  return err instanceof BackendError && err.code === 'unavailable';
}

/** What an RPC caller (or a Klient at the registry) hears: Kloud's errors and an unreachable store with their codes. */
export function asRpcError(caught: unknown): unknown {
  const err = storeUnavailable(caught);
  return isKloudError(err) ? err.toRpcError() : err;
}

/** `handler` with whatever it throws crossing the wire as asRpcError says. */
export function withRpcErrors<A extends unknown[], R>(
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (err) {
      throw asRpcError(err);
    }
  };
}
