/**
 * How a process that moves bulk data treats memory, so a long stream runs at the same cost from
 * its first MiB to its last: freed buffers kept for reuse (retain-freed-memory.ts) and the old
 * generation collected in one pause when full, not marked incrementally (atomic-gc.ts).
 */
import { collectGarbageAtomically } from './atomic-gc.js';
import { retainFreedMemory } from './retain-freed-memory.js';
import type { TuningResult } from './tuning-result.js';

export { ATOMIC_GC_ENV, collectGarbageAtomically } from './atomic-gc.js';
export {
  DISABLE_ENV,
  MMAP_THRESHOLD_BYTES,
  RETAINED_BYTES,
  retainFreedMemory,
} from './retain-freed-memory.js';
export { type TuningResult, tuningSummary } from './tuning-result.js';

export interface StreamingMemory {
  retainFreedMemory: TuningResult;
  atomicGarbageCollection: TuningResult;
}

/** Both settings, once per process, at its start (before the first stream), for Klient and kd. Never throws. */
export function tuneMemoryForStreaming(): StreamingMemory {
  return { retainFreedMemory: retainFreedMemory(), atomicGarbageCollection: collectGarbageAtomically() };
}
