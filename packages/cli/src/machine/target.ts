/**
 * Turns the MACHINE a user typed into something to connect to. Two forms:
 *
 * - `ws://HOST:PORT` (or wss://): a Klient's own URL, with an access token from `--token` or
 *   `KD_MACHINE_TOKEN` (DESIGN §5: direct connection with an access token works too);
 * - a machine id or label known to the logged-in Kloud: Kloud issues a short-lived access token
 *   (`POST /api/v1/machines/:id/token`) and the connection goes through its tunnel. The token
 *   provider is called again on reconnect and before expiry, so long sessions outlive one token.
 */
import type { Scope } from '@kk/protocol/catalogue/define.js';
import { requireLogin } from '../config/store.js';
import { cliErrors } from '../errors.js';
import { KloudApi } from '../kloud/api.js';
import { listAll } from '../kloud/pages.js';

export interface MachineTarget {
  /** What to show the user. */
  name: string;
  url: string;
  token: () => Promise<string>;
}

export interface TargetOptions {
  /** Access token for a direct Klient URL. */
  token?: string;
  /** Ask Kloud for a narrower token (e.g. readonly for a read-only view). */
  scope?: Scope;
}

interface MachineSummary {
  id: string;
  label: string;
}

interface IssuedToken {
  token: string;
  url: string;
}

/** A machine id (28 hex digits) or uid, as the API shows them; anything else is a label. */
const MACHINE_ID = /^([0-9a-f]{28}|u[a-z0-9]{3}[0-9a-f]{8})$/;

export function isDirectUrl(ref: string): boolean {
  return /^wss?:\/\//i.test(ref);
}

export async function resolveTarget(ref: string, options: TargetOptions = {}): Promise<MachineTarget> {
  if (!ref) throw cliErrors.usage('name a machine: its id or label, or ws://HOST:PORT of a Klient');
  if (isDirectUrl(ref)) {
    const token = options.token ?? process.env.KD_MACHINE_TOKEN;
    if (!token)
      throw cliErrors.usage(
        `${ref} is a direct Klient URL: pass its access token with --token or KD_MACHINE_TOKEN`,
      );
    return { name: ref, url: ref, token: async () => token };
  }
  const api = new KloudApi(await requireLogin());
  const machineId = await findMachineId(api, ref);
  let url: string | undefined;
  const issue = async () => {
    const issued = await api.post<IssuedToken>(
      `/api/v1/machines/${encodeURIComponent(machineId)}/token`,
      options.scope ? { scope: options.scope } : {},
    );
    url = issued.url;
    return issued.token;
  };
  const first = await issue();
  let fresh: string | undefined = first;
  return {
    name: ref,
    url: url!,
    token: async () => {
      // The first connection uses the token fetched to learn the URL; later ones get new tokens.
      if (fresh) {
        const t = fresh;
        fresh = undefined;
        return t;
      }
      return issue();
    },
  };
}

/** A machine id as given, or the id of the one machine with that label. */
export async function findMachineId(api: KloudApi, ref: string): Promise<string> {
  if (MACHINE_ID.test(ref)) return ref;
  const machines = await listAll<MachineSummary>(api, '/api/v1/machines');
  const matches = machines.filter((m) => m.label === ref);
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length > 1)
    throw cliErrors.usage(
      `${matches.length} machines are labelled ${ref}: use an id (${matches.map((m) => m.id).join(', ')})`,
    );
  throw cliErrors.notFound(`no machine ${ref}: see \`kd machine list\``);
}
