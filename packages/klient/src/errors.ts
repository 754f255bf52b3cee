/**
 * The one place Klient turns failures into wire errors. Capability code throws Node's errors
 * as they come (with `code` and `path`); handlers pass them through `fromSystemError`, which
 * maps the errno to a protocol code and writes a message that names the path and says what to
 * do. Anything unknown stays an internal error, so nothing about the host leaks by accident.
 */
import { ErrorCode, errors, RpcError } from '@kk/protocol/errors.js';

export { ErrorCode, errors, RpcError };

interface SystemError extends Error {
  code: string;
  path?: string;
  dest?: string;
  syscall?: string;
}

function isSystemError(value: unknown): value is SystemError {
  return value instanceof Error && typeof (value as { code?: unknown }).code === 'string';
}

/** errno → [protocol code, message]. The message gets the path appended. */
const byErrno: Record<string, [number, string]> = {
  ENOENT: [ErrorCode.NotFound, 'no such file or directory'],
  EACCES: [ErrorCode.Forbidden, 'permission denied'],
  EPERM: [ErrorCode.Forbidden, 'operation not permitted'],
  EROFS: [ErrorCode.Forbidden, 'read-only filesystem'],
  EISDIR: [ErrorCode.InvalidParams, 'is a directory, expected a file'],
  ENOTDIR: [ErrorCode.InvalidParams, 'not a directory'],
  EEXIST: [ErrorCode.Conflict, 'already exists'],
  ENOTEMPTY: [ErrorCode.Conflict, 'directory not empty; pass recursive: true to remove it with its contents'],
  ENOSPC: [ErrorCode.Unavailable, 'no space left on the device; free some space and retry'],
  EDQUOT: [ErrorCode.Unavailable, 'disk quota exceeded; free some space and retry'],
  ENAMETOOLONG: [ErrorCode.InvalidParams, 'file name too long'],
  ELOOP: [ErrorCode.InvalidParams, 'too many levels of symbolic links'],
  EINVAL: [ErrorCode.InvalidParams, 'invalid argument'],
  EBUSY: [ErrorCode.InvalidState, 'resource busy'],
  ETXTBSY: [ErrorCode.InvalidState, 'text file busy (a running program)'],
  EMFILE: [ErrorCode.Unavailable, 'too many open files on the machine; retry later'],
  ENFILE: [ErrorCode.Unavailable, 'too many open files on the machine; retry later'],
  EFBIG: [ErrorCode.TooLarge, 'file too large for this filesystem'],
  EXDEV: [ErrorCode.InvalidState, 'cross-device link'],
  EIO: [ErrorCode.Unavailable, 'input/output error on the device'],
  // fs.cp's own codes (its `path` is the destination).
  ERR_FS_CP_DIR_TO_NON_DIR: [ErrorCode.InvalidParams, 'is a file; cannot copy a directory over it'],
  ERR_FS_CP_NON_DIR_TO_DIR: [ErrorCode.InvalidParams, 'is a directory; cannot copy a file over it'],
  ERR_FS_CP_EINVAL: [ErrorCode.InvalidParams, 'cannot copy a directory into itself'],
  ERR_FS_CP_EEXIST: [ErrorCode.Conflict, 'already exists; pass overwrite: true'],
  ERR_FS_EISDIR: [ErrorCode.InvalidParams, 'is a directory, expected a file'],
  ERR_FS_CP_SOCKET: [ErrorCode.InvalidParams, 'is a socket; it cannot be copied'],
  ERR_FS_CP_FIFO_PIPE: [ErrorCode.InvalidParams, 'is a named pipe; it cannot be copied'],
  ERR_FS_CP_UNKNOWN: [ErrorCode.InvalidParams, 'is of a type that cannot be copied'],
};

/** Node's own argument checks (a NUL byte in a path or command, say): the caller's input was bad. */
const argumentErrors = new Set(['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE']);

/**
 * Map anything a capability threw to an RpcError. RpcErrors pass through; Node system errors
 * are mapped by errno; anything else is rethrown so the transport logs it and answers -32603.
 */
export function fromSystemError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  if (isSystemError(err)) {
    if (argumentErrors.has(err.code)) {
      // Node's message names the argument and echoes the caller's own value, nothing of the host.
      return new RpcError(ErrorCode.InvalidParams, `invalid argument: ${err.message}`, { errno: err.code });
    }
    const known = byErrno[err.code];
    if (known) {
      const [code, what] = known;
      const where = err.path ? `${err.path}${err.dest ? ` -> ${err.dest}` : ''}: ` : '';
      return new RpcError(code, `${where}${what}`, {
        errno: err.code,
        ...(err.path ? { path: err.path } : {}),
      });
    }
  }
  throw err;
}

/** Run a capability call and translate what it throws. Every fs/exec handler goes through it. */
export async function mapErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw fromSystemError(err);
  }
}

/** The errno of a Node system error, or undefined. For control flow inside capabilities. */
export function errnoOf(err: unknown): string | undefined {
  return isSystemError(err) ? err.code : undefined;
}
