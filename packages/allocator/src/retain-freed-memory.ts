/**
 * Makes glibc's malloc keep freed memory for reuse instead of handing it back to the kernel at
 * once. Node frees the buffers a stream used in bursts, at garbage collections; by default glibc
 * returns all but a few MiB of such a burst (and serves 1 MiB buffers with fresh mmaps), so the
 * next stretch of the stream page-faults every page in again. On a virtual machine a page fault
 * costs microseconds, and those faults were the largest single cost of moving a file through
 * Klient (see the README for the measured effect).
 *
 * Called once at the start of the processes that move bulk data: Klient, kd and Kloud.
 */
import { loadNativeModule } from './native.cjs';
import { oncePerProcess, type TuningResult } from './tuning-result.js';

/** Freed memory at the top of the heap kept mapped, at most: a process stays this much above its low-water RSS. */
export const RETAINED_BYTES = 64 * 1024 * 1024;
/** Blocks below this come from the heap, so they are reused too (the ceiling glibc's own adjustment stops at). */
export const MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024;

/** `KK_RETAIN_FREED_MEMORY=0` keeps glibc's defaults: for an operator who would rather have the memory back at once. */
export const DISABLE_ENV = 'KK_RETAIN_FREED_MEMORY';

interface AllocatorAddon {
  retain(trimBytes: number, mmapThresholdBytes: number): boolean;
}

/**
 * Applies the setting to this process, once; later calls return the first result. Never throws:
 * without the compiled addon or outside glibc the process runs as before, and the result says why.
 */
export const retainFreedMemory: () => TuningResult = oncePerProcess(DISABLE_ENV, "glibc's defaults", () => {
  let addon: AllocatorAddon;
  try {
    addon = loadNativeModule('allocator').module as AllocatorAddon;
  } catch (error) {
    return { applied: false, reason: `allocator addon not loaded: ${(error as Error).message}` };
  }
  return addon.retain(RETAINED_BYTES, MMAP_THRESHOLD_BYTES)
    ? { applied: true }
    : { applied: false, reason: 'mallopt refused the setting (not glibc?)' };
});
