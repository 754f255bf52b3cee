/**
 * Every error the backend reports to a caller, with a stable code and the HTTP status it maps to.
 *
 * Store functions and route handlers throw `BackendError`; the API's error handler turns it into
 * `{error: {code, message, details?}}` with `status`. Anything else becomes a 500 with a generic
 * message, so stack traces and secrets never reach a caller. Callers branch on `code`.
 */

export const ErrorStatus = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  precondition_required: 428,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ErrorStatus;

export class BackendError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ErrorStatus[this.code];
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return this.details === undefined
      ? { error: { code: this.code, message: this.message } }
      : { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** Shorthands so code reads `throw errors.notFound('no such machine: m1')`. */
export const errors = {
  invalid: (message: string, details?: unknown) => new BackendError('invalid_request', message, details),
  unauthenticated: (message: string) => new BackendError('unauthenticated', message),
  forbidden: (message: string) => new BackendError('forbidden', message),
  notFound: (message: string) => new BackendError('not_found', message),
  conflict: (message: string, details?: unknown) => new BackendError('conflict', message, details),
  stale: (message: string) => new BackendError('precondition_failed', message),
  ifMatchRequired: (message: string) => new BackendError('precondition_required', message),
  internal: (message = 'internal error; see the server log') => new BackendError('internal', message),
  unavailable: (message: string) => new BackendError('unavailable', message),
  /** `retryAfterSeconds` is also sent as the Retry-After header. */
  rateLimited: (message: string, retryAfterSeconds: number) =>
    new BackendError('rate_limited', message, { retryAfterSeconds }),
};
