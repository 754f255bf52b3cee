/**
 * `MACHINE:PATH` as `kd cp` and `kd ls` take it. MACHINE may be a Klient URL (ws://HOST:PORT),
 * whose own colon is not the separator; a local path is anything without a `MACHINE:` prefix
 * (write `./a:b` for a local file whose name holds a colon).
 */
export interface RemotePath {
  machine: string;
  /** Absolute, or relative to the machine user's home; empty means home. */
  path: string;
}

/** A port is a port when digits end the spec or meet `:` or `/`; a URL alone means the home directory. */
const urlForm = /^(wss?:\/\/(?:\[[^\]]+\]|[^/:\s]+)(?::\d+(?=$|[:/]))?(?:\/[^:]*)?)(?::(.*))?$/i;
const nameForm = /^([A-Za-z0-9][A-Za-z0-9._-]*):(.*)$/;

export function parseRemote(spec: string): RemotePath | undefined {
  const m = urlForm.exec(spec) ?? (spec.startsWith('.') || spec.startsWith('/') ? null : nameForm.exec(spec));
  if (!m) return undefined;
  return { machine: m[1]!, path: m[2] ?? '' };
}
