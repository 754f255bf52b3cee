/**
 * Every error code that crosses the wire, and the one error class handlers throw.
 *
 * The transport maps an `RpcError` to a JSON-RPC error object as it is; any other
 * thrown value becomes -32603 with a generic message, so stack traces and secrets
 * never leave the process. Callers branch on `code`, never on `message`.
 */

/** JSON-RPC 2.0 standard codes (the specification, §5.1). */
export const StandardCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
} as const;

/** Application codes (DESIGN §3). Server-defined range -32000..-32099 is left to implementations. */
export const AppCode = {
  Unauthenticated: 4001,
  Forbidden: 4003,
  NotFound: 4004,
  Conflict: 4009,
  InvalidState: 4010,
  TooLarge: 4013,
  RateLimited: 4029,
  Timeout: 4008,
  Unavailable: 4503,
  Cancelled: 4499,
} as const;

export const ErrorCode = { ...StandardCode, ...AppCode } as const;
export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];

const nameByCode = new Map<number, ErrorCodeName>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name as ErrorCodeName]),
);

/** The name of a known code (`NotFound`), or undefined for codes this version does not know. */
export function errorCodeName(code: number): ErrorCodeName | undefined {
  return nameByCode.get(code);
}

/** An error meant for the caller: its message says what was wrong and what to do. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }

  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** Shorthands so handlers read as `throw errors.notFound('no such file: /x')`. */
export const errors = {
  invalidParams: (message: string, data?: unknown) => new RpcError(ErrorCode.InvalidParams, message, data),
  internal: (message = 'internal error; see the server log', data?: unknown) =>
    new RpcError(ErrorCode.InternalError, message, data),
  methodNotFound: (method: string) =>
    new RpcError(ErrorCode.MethodNotFound, `method not found: ${method}`, { method }),
  unauthenticated: (message: string, data?: unknown) =>
    new RpcError(ErrorCode.Unauthenticated, message, data),
  forbidden: (message: string, data?: unknown) => new RpcError(ErrorCode.Forbidden, message, data),
  notFound: (message: string, data?: unknown) => new RpcError(ErrorCode.NotFound, message, data),
  conflict: (message: string, data?: unknown) => new RpcError(ErrorCode.Conflict, message, data),
  invalidState: (message: string, data?: unknown) => new RpcError(ErrorCode.InvalidState, message, data),
  tooLarge: (message: string, data?: unknown) => new RpcError(ErrorCode.TooLarge, message, data),
  rateLimited: (message: string, data?: unknown) => new RpcError(ErrorCode.RateLimited, message, data),
  timeout: (message: string, data?: unknown) => new RpcError(ErrorCode.Timeout, message, data),
  unavailable: (message: string, data?: unknown) => new RpcError(ErrorCode.Unavailable, message, data),
  cancelled: (message: string, data?: unknown) => new RpcError(ErrorCode.Cancelled, message, data),
};

export function isRpcError(value: unknown): value is RpcError {
  return value instanceof RpcError;
}
