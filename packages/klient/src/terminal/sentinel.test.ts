import { describe, expect, it } from 'vitest';
import { newSentinel, SentinelScanner } from './sentinel.js';

describe('SentinelScanner', () => {
  const sentinel = newSentinel();

  it('is made of characters the tty passes through unchanged', () => {
    expect(sentinel.startsWith('\x1b_')).toBe(true);
    expect(sentinel.endsWith('\x1b\\')).toBe(true);
    expect(sentinel.slice(2, -2)).toMatch(/^\d{24}$/);
  });

  it('finds the sentinel cut at every position and passes on exactly the text before it', () => {
    const text = `hello\r\nwor\x1b_ld${sentinel}after`;
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2 += 3) {
        const scanner = new SentinelScanner(sentinel);
        let passed = '';
        let done = false;
        for (const part of [text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2)]) {
          const r = scanner.feed(part);
          passed += r.pass;
          done = r.done;
        }
        expect(done).toBe(true);
        expect(passed).toBe('hello\r\nwor\x1b_ld');
      }
    }
  });

  it('holds back only a possible beginning of the sentinel, and flush returns it', () => {
    const scanner = new SentinelScanner(sentinel);
    expect(scanner.feed(`abc${sentinel.slice(0, 5)}`)).toEqual({ pass: 'abc', done: false });
    expect(scanner.flush()).toBe(sentinel.slice(0, 5));
    expect(scanner.feed('\x1b_x')).toEqual({ pass: '\x1b_x', done: false });
  });
});
