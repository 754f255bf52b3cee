import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { retainFreedMemory } from './index.js';

const addon = createRequire(import.meta.url)('../build/Release/allocator.node') as {
  retain(trim: unknown, mmapThreshold: unknown): boolean;
};

const run = promisify(execFile);

describe('retainFreedMemory', () => {
  it('applies the setting through the compiled addon (glibc) and says so', () => {
    expect(retainFreedMemory()).toEqual({ applied: true });
  });

  it('applies it once: a second call returns the first result', () => {
    expect(retainFreedMemory()).toBe(retainFreedMemory());
  });

  it('is turned off by KK_RETAIN_FREED_MEMORY=0, and says so', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('@kk/allocator').then((m) => console.log(JSON.stringify(m.retainFreedMemory())))",
      ],
      { env: { ...process.env, KK_RETAIN_FREED_MEMORY: '0' } },
    );
    expect(JSON.parse(stdout)).toEqual({
      applied: false,
      reason: "turned off by KK_RETAIN_FREED_MEMORY=0: glibc's defaults",
    });
  });

  it('refuses sizes that are missing, negative or too large for mallopt', () => {
    for (const args of [[], [1], [-1, 1], [1, -1], [2 ** 31, 1], ['64', 1]] as unknown[][]) {
      expect(() => (addon.retain as (...a: unknown[]) => boolean)(...args)).toThrow(RangeError);
    }
  });
});
