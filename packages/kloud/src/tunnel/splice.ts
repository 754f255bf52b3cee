/**
 * Joins two byte streams both ways so that nothing is re-encoded: WebSocket frames, text or
 * binary, cross Kloud untouched, and the slower side pushes back on the faster one through TCP.
 * Plain TCP sockets go to the relay thread (`@kk/relay`), which moves bytes off the event loop
 * and without the wake-ups that make a relay's hop cost as much as the round trip it relays;
 * anything else (TLS, no addon, `KK_NATIVE_RELAY=0`) is joined here with `pipe`. Either side
 * ending or failing ends both.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { joinOnRelay } from '@kk/relay';

export interface Splice {
  /** Resolves once both sides are closed. */
  done: Promise<void>;
  /** Ends both sides; `closeFrame` first tells the caller why (a WebSocket close frame). */
  close(closeFrame?: { code: number; reason: string }): void;
}

/** An unmasked WebSocket close frame (server → client). */
export function wsCloseFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 120), 'utf8');
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
}

/** Bytes each side is sent before anything the other side sends. */
export interface FirstBytes {
  toCaller?: Buffer;
  toMachine?: Buffer;
}

export function splice(caller: Duplex, machine: Duplex, first: FirstBytes = {}): Splice {
  // Each relayed message is one round trip's worth: never held back to be coalesced.
  for (const s of [caller, machine]) if (s instanceof Socket) s.setNoDelay(true);
  if (caller instanceof Socket && machine instanceof Socket) {
    const relayed = joinOnRelay(caller, machine, {
      firstToCaller: first.toCaller,
      firstToMachine: first.toMachine,
    });
    if (typeof relayed !== 'string')
      return {
        done: relayed.done.then(() => undefined),
        close: (closeFrame) => relayed.close(closeFrame && wsCloseFrame(closeFrame.code, closeFrame.reason)),
      };
  }
  return pipeSplice(caller, machine, first);
}

/** The same join on Node's streams, for what the relay thread cannot take. */
export function pipeSplice(caller: Duplex, machine: Duplex, first: FirstBytes = {}): Splice {
  if (first.toMachine?.length) machine.write(first.toMachine);
  if (first.toCaller?.length) caller.write(first.toCaller);
  const closed = (s: Duplex) =>
    new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
  const done = Promise.all([closed(caller), closed(machine)]).then(() => undefined);
  const end = () => {
    caller.destroy();
    machine.destroy();
  };
  caller.on('error', end);
  machine.on('error', end);
  caller.once('close', end);
  machine.once('close', end);
  caller.pipe(machine);
  machine.pipe(caller);
  return {
    done,
    close: (closeFrame) => {
      machine.unpipe(caller);
      if (closeFrame && !caller.destroyed) caller.end(wsCloseFrame(closeFrame.code, closeFrame.reason));
      machine.destroy();
      setTimeout(() => caller.destroy(), 2_000).unref();
    },
  };
}

/**
 * The caller's upgrade request as bytes, replayed to the Klient's own server (or to the Kloud
 * process holding the link). A caller's own X-Forwarded-For and `extra` headers are replaced.
 */
export function requestHead(
  req: { method?: string; url?: string; rawHeaders: string[] },
  remote?: string,
  extra: Record<string, string> = {},
): Buffer {
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (
      /^x-forwarded-for$/i.test(name) ||
      Object.keys(extra).some((h) => h.toLowerCase() === name.toLowerCase())
    )
      continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  if (remote) lines.push(`X-Forwarded-For: ${remote}`);
  for (const [name, value] of Object.entries(extra)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}
