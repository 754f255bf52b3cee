import type { Scope } from '../catalogue/define.js';

/** Kite keys are presented by Klient to Kloud; `aud` is always this. */
export const KITE_KEY_AUDIENCE = 'kloud';

/** The longest an access token may live (DESIGN §3). */
export const MAX_ACCESS_TOKEN_SECONDS = 3600;

/** What a kite.key says: this machine (`jti`), owned by `sub`, issued by Kloud at `iss`. */
export interface KiteKeyClaims {
  iss: string;
  sub: string;
  /** The machine's kite id. */
  jti: string;
  aud: typeof KITE_KEY_AUDIENCE;
  iat: number;
  exp?: number;
}

/** What an access token says: `sub` may use machine `aud` with `scope` until `exp`. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  /** The machine's kite id. */
  aud: string;
  scope: Scope;
  iat: number;
  exp: number;
  jti: string;
}
