import type { Scope } from './catalogue/define.js';

/** Who is on the other end of a connection, as established at the WebSocket upgrade. */
export interface Principal {
  /** The user (access token `sub`), or the machine for a registered Klient. */
  sub: string;
  scope: Scope;
  /** When the credential that authenticated the connection expires (ms since epoch). */
  expiresAt?: number;
  /** Anything else the authenticator wants handlers to see (kite id, token id …). */
  [key: string]: unknown;
}
