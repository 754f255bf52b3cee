/**
 * Joins two TCP sockets on the relay thread (see relay.c): both directions, TCP backpressure,
 * nothing through JavaScript. One relay per process, started on first use.
 */
import type { Socket } from 'node:net';
import { loadRelayAddon, type RelayAddon } from './native.cjs';
import { takeSocket, whyNotTakeable } from './take-socket.js';

/** `KK_NATIVE_RELAY=0` keeps every connection on Node's streams (`pipe`) instead. */
export const DISABLE_ENV = 'KK_NATIVE_RELAY';
/** Microseconds the relay thread keeps polling after traffic before it sleeps; 0 never polls. */
export const SPIN_ENV = 'KK_RELAY_SPIN_US';
export const DEFAULT_SPIN_US = 100;

export interface RelayedBytes {
  toCaller: number;
  toMachine: number;
}

export interface RelayedPair {
  /** Resolves once the relay has closed both sockets, with the bytes it wrote to each. */
  done: Promise<RelayedBytes>;
  /**
   * Closes the pair: the machine's end at once; the caller gets what it is still owed, then
   * `lastToCaller` (a WebSocket close frame, say), then the end of the stream, within 2 s.
   */
  close(lastToCaller?: Buffer): void;
}

export interface JoinOptions {
  /** Bytes written to each end before anything the other sends (e.g. a replayed request). */
  firstToCaller?: Buffer;
  firstToMachine?: Buffer;
}

type Availability = { addon: RelayAddon; spinMicros: number } | { reason: string };

let availability: Availability | undefined;
const waiting = new Map<number, (bytes: RelayedBytes) => void>();

/** The started relay, or why this process cannot have one; decided once. */
function relay(): Availability {
  availability ??= startRelay();
  return availability;
}

/** Whether this process relays on the thread (and how long it polls), or why not. */
export function relayAvailability():
  | { available: true; spinMicros: number }
  | { available: false; reason: string } {
  const r = relay();
  return 'addon' in r
    ? { available: true, spinMicros: r.spinMicros }
    : { available: false, reason: r.reason };
}

function startRelay(): Availability {
  if (process.env[DISABLE_ENV] === '0') return { reason: `turned off by ${DISABLE_ENV}=0` };
  if (process.platform !== 'linux') return { reason: `needs Linux (epoll), not ${process.platform}` };
  // With io_uring, libuv may drop a closed socket from its epoll set only after the close, which
  // fails while the relay holds a copy of the descriptor: Node's loop would keep its events.
  if (process.env.UV_USE_IO_URING === '1') return { reason: 'not with UV_USE_IO_URING=1' };
  const spinText = process.env[SPIN_ENV];
  const spinMicros = spinText === undefined || spinText === '' ? DEFAULT_SPIN_US : Number(spinText);
  if (!Number.isInteger(spinMicros) || spinMicros < 0 || spinMicros > 10_000)
    return {
      reason: `${SPIN_ENV} must be a whole number of microseconds from 0 to 10000, not "${spinText}"`,
    };
  try {
    const addon = loadRelayAddon();
    addon.start(spinMicros, (id, toCaller, toMachine) => {
      const resolve = waiting.get(id);
      waiting.delete(id);
      resolve?.({ toCaller, toMachine });
    });
    return { addon, spinMicros };
  } catch (error) {
    return { reason: `relay addon not loaded: ${(error as Error).message}` };
  }
}

/**
 * Hands `caller` and `machine` to the relay thread and closes Node's own sockets, or returns
 * why it cannot (no addon, TLS, writes still queued …) leaving both sockets untouched.
 */
export function joinOnRelay(
  caller: Socket,
  machine: Socket,
  options: JoinOptions = {},
): RelayedPair | string {
  const started = relay();
  if (!('addon' in started)) return started.reason;
  const why = whyNotTakeable(caller) ?? whyNotTakeable(machine);
  if (why) return why;
  const { addon } = started;
  const fromCaller = takeSocket(caller);
  const fromMachine = takeSocket(machine);
  let id: number;
  try {
    id = addon.join(
      fromCaller.fd,
      fromMachine.fd,
      Buffer.concat([options.firstToCaller ?? Buffer.alloc(0), fromMachine.unread]),
      Buffer.concat([options.firstToMachine ?? Buffer.alloc(0), fromCaller.unread]),
    );
  } catch (error) {
    // Node no longer reads either socket, so neither can go on: both end, the caller learns why.
    caller.destroy(error as Error);
    machine.destroy(error as Error);
    throw error;
  }
  const done = new Promise<RelayedBytes>((resolve) => waiting.set(id, resolve));
  // The relay holds its own descriptors now; closing Node's leaves the connections open.
  caller.destroy();
  machine.destroy();
  let closed = false;
  return {
    done,
    close: (lastToCaller) => {
      if (closed) return;
      closed = true;
      addon.close(id, lastToCaller);
    },
  };
}
