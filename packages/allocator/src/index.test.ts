import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { retainFreedMemory } from './index.js';

const addon = createRequire(import.meta.url)('../build/Release/allocator.node') as {
  retain(trim: unknown, mmapThreshold: unknown): boolean;
};

describe('retainFreedMemory', () => {
  it('applies the setting through the compiled addon (glibc) and says so', () => {
    expect(retainFreedMemory()).toEqual({ applied: true });
  });

  it('applies it once: a second call returns the first result', () => {
    expect(retainFreedMemory()).toBe(retainFreedMemory());
  });

  it('refuses sizes that are missing, negative or too large for mallopt', () => {
    for (const args of [[], [1], [-1, 1], [1, -1], [2 ** 31, 1], ['64', 1]] as unknown[][]) {
      expect(() => (addon.retain as (...a: unknown[]) => boolean)(...args)).toThrow(RangeError);
    }
  });
});
