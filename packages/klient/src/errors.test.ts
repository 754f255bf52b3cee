import { readFile } from 'node:fs/promises';
import { ErrorCode, RpcError } from '@kk/protocol/errors.js';
import { describe, expect, it } from 'vitest';
import { errnoOf, fromSystemError, mapErrors } from './errors.js';

function systemError(code: string, path?: string): Error {
  return Object.assign(new Error(`${code}: raw message`), { code, path });
}

describe('fromSystemError', () => {
  it.each([
    ['ENOENT', ErrorCode.NotFound, 'no such file'],
    ['EACCES', ErrorCode.Forbidden, 'permission denied'],
    ['EPERM', ErrorCode.Forbidden, 'not permitted'],
    ['EISDIR', ErrorCode.InvalidParams, 'is a directory'],
    ['ENOTDIR', ErrorCode.InvalidParams, 'not a directory'],
    ['EEXIST', ErrorCode.Conflict, 'already exists'],
    ['ENOTEMPTY', ErrorCode.Conflict, 'recursive'],
    ['ENOSPC', ErrorCode.Unavailable, 'no space left'],
  ])('%s → %i, naming the path', (errno, code, words) => {
    const mapped = fromSystemError(systemError(errno, '/srv/x'));
    expect(mapped).toBeInstanceOf(RpcError);
    expect(mapped).toMatchObject({ code, data: { errno, path: '/srv/x' } });
    expect(mapped.message).toMatch(new RegExp(`^/srv/x: .*${words}`));
    expect(mapped.message).not.toContain('raw message');
  });

  it('passes RpcErrors through and rethrows what it does not know', () => {
    const rpc = new RpcError(ErrorCode.Conflict, 'x');
    expect(fromSystemError(rpc)).toBe(rpc);
    const unknown = systemError('EWEIRD');
    expect(() => fromSystemError(unknown)).toThrow(unknown);
    expect(() => fromSystemError(new TypeError('bug'))).toThrow(TypeError);
  });

  it('maps what a real failing call throws', async () => {
    await expect(mapErrors(() => readFile('/nonexistent/klient'))).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    expect(errnoOf(await readFile('/nonexistent').catch((e) => e))).toBe('ENOENT');
  });
});
