/**
 * Every error Kloud hands to a caller, with a stable code. The RPC transport maps a
 * KloudError to the protocol's RpcError (same code numbers), the REST routes map it to an
 * HTTP status; nothing branches on messages. Anything else thrown is an internal error
 * whose details stay in the log.
 */
import { AppCode, RpcError, StandardCode } from '@kk/protocol/errors.js';

export const KloudErrorCode = {
  InvalidParams: StandardCode.InvalidParams,
  Unauthenticated: AppCode.Unauthenticated,
  Forbidden: AppCode.Forbidden,
  NotFound: AppCode.NotFound,
  Conflict: AppCode.Conflict,
  InvalidState: AppCode.InvalidState,
  Timeout: AppCode.Timeout,
  Unavailable: AppCode.Unavailable,
  Internal: StandardCode.InternalError,
} as const;
export type KloudErrorName = keyof typeof KloudErrorCode;

const httpStatus: Record<KloudErrorName, number> = {
  InvalidParams: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  InvalidState: 409,
  Timeout: 504,
  Unavailable: 503,
  Internal: 500,
};

/** One problem found in a template or a request, located by a path such as `machines.web.depends_on[0]`. */
export interface Problem {
  path: string;
  message: string;
}

export class KloudError extends Error {
  override readonly name = 'KloudError';
  constructor(
    readonly kind: KloudErrorName,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }

  get code(): number {
    return KloudErrorCode[this.kind];
  }

  get httpStatus(): number {
    return httpStatus[this.kind];
  }

  toRpcError(): RpcError {
    return new RpcError(this.code, this.message, this.data);
  }
}

export function isKloudError(value: unknown): value is KloudError {
  return value instanceof KloudError;
}

/** Shorthands so code reads as `throw kloudErrors.notFound('no machine m-1')`. */
export const kloudErrors = {
  invalid: (message: string, data?: Record<string, unknown>) =>
    new KloudError('InvalidParams', message, data),
  /** A list of problems (template validation): the message names the first, `data.problems` has all. */
  problems: (problems: Problem[]) => {
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    return new KloudError(
      'InvalidParams',
      `${first ? `${first.path}: ${first.message}` : 'invalid'}${more}`,
      {
        problems,
      },
    );
  },
  unauthenticated: (message: string) => new KloudError('Unauthenticated', message),
  forbidden: (message: string, data?: Record<string, unknown>) => new KloudError('Forbidden', message, data),
  notFound: (message: string, data?: Record<string, unknown>) => new KloudError('NotFound', message, data),
  conflict: (message: string, data?: Record<string, unknown>) => new KloudError('Conflict', message, data),
  invalidState: (message: string, data?: Record<string, unknown>) =>
    new KloudError('InvalidState', message, data),
  timeout: (message: string, data?: Record<string, unknown>) => new KloudError('Timeout', message, data),
  unavailable: (message: string, data?: Record<string, unknown>) =>
    new KloudError('Unavailable', message, data),
};

/** A call that could not reach its end over a link (closed, or its holder unreachable): worth retrying once it is back. */
export function isLinkLost(err: unknown): boolean {
  return err instanceof RpcError && err.code === AppCode.Unavailable;
}
