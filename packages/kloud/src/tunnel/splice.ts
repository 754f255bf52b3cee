/**
 * Joins two byte streams both ways with `pipe`, so the slower side pushes back on the faster
 * one through TCP (backpressure for free) and nothing is re-encoded: WebSocket frames, text or
 * binary, cross Kloud untouched. Either side ending or failing ends both.
 */
import type { Duplex } from 'node:stream';

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

export function splice(caller: Duplex, machine: Duplex): Splice {
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
  for (const s of [caller, machine]) (s as Partial<import('node:net').Socket>).setNoDelay?.(true);
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
