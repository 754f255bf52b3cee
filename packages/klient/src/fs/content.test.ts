import { ErrorCode } from '@kk/protocol/errors.js';
import { describe, expect, it } from 'vitest';
import { decodeContent, encodeContent } from './content.js';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: number }).code;
  }
  return undefined;
}

describe('content encoding', () => {
  it('decodes base64 strictly, whatever its size', () => {
    expect(decodeContent('aGk=', 'base64').toString()).toBe('hi');
    expect(decodeContent('', 'base64').length).toBe(0);
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    expect(decodeContent(big.toString('base64'), 'base64').equals(big)).toBe(true);
    for (const bad of ['aGk', 'a=Gk', 'aG!k', 'aGk=\n', '====', 'aGk===']) {
      expect(
        codeOf(() => decodeContent(bad, 'base64')),
        bad,
      ).toBe(ErrorCode.InvalidParams);
    }
  });

  it('refuses to pass bytes that are not UTF-8 off as text', () => {
    expect(encodeContent(Buffer.from('héllo'), 'utf8')).toBe('héllo');
    expect(codeOf(() => encodeContent(Buffer.from([0xc3]), 'utf8'))).toBe(ErrorCode.InvalidParams);
    expect(encodeContent(Buffer.from([0xc3]), 'base64')).toBe('ww==');
  });
});
