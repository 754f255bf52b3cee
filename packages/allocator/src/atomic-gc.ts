/**
 * Makes V8 collect the old generation in one pause when it is full, instead of marking it
 * incrementally while the program runs. A process that streams a file through WebSocket frames
 * allocates its size in ArrayBuffers twice over; in about one Klient process in five, once an
 * incremental marking cycle had run during a stream, the next began as soon as it ended, for the
 * rest of the process's life: a full mark-compact every ~40 ms while a file streamed, concurrent
 * marking and sweeping on V8's helper threads, Klient's user CPU per 256 MiB upload 630–670 ms
 * instead of 240–310 (measured 2026-12-03 with --trace-gc and perf; see the README). With
 * incremental marking off, no upload ran a single mark-compact: the stream's garbage dies in
 * scavenges, and the old generation grows only with what the process really keeps.
 *
 * The costs: a pause when the old generation does fill, proportional to the live heap (5–25 ms
 * at Klient's ~15 MiB), and no collection while idle (the README says more). Meant for Klient
 * and kd, whose heaps are small and whose work is moving bytes; Kloud, whose heap serves many
 * users at once, keeps incremental marking.
 */
import { setFlagsFromString } from 'node:v8';
import { oncePerProcess, type TuningResult } from './tuning-result.js';

/** `KK_ATOMIC_GC=0` keeps V8's incremental marking. */
export const ATOMIC_GC_ENV = 'KK_ATOMIC_GC';

/**
 * Turns incremental marking off in this process, once; later calls return the first result.
 * V8 reads the flag each time it considers starting a marking cycle, so it takes effect at
 * runtime, also in the klient executable (which cannot be given V8 flags on its command line).
 * Never throws.
 */
export const collectGarbageAtomically: () => TuningResult = oncePerProcess(
  ATOMIC_GC_ENV,
  "V8's incremental marking",
  () => {
    setFlagsFromString('--no-incremental-marking');
    return { applied: true };
  },
);
