/**
 * First start: when there are no users, make an admin and a token for them. The token is
 * returned once (Kloud prints it) and only its hash is kept. Safe to call on every start and
 * from several processes at once: only the one that creates the admin gets a token back.
 */
import { BackendError } from './errors.js';
import type { User } from './repos/users.js';
import type { Store } from './store/store.js';

export interface BootstrapResult {
  user: User;
  /** The admin's API token; shown once, never stored in clear. */
  token: string;
}

export async function bootstrapAdmin(
  store: Store,
  options: { username?: string } = {},
): Promise<BootstrapResult | undefined> {
  if ((await store.users.count()) > 0) return undefined;
  let user: User;
  try {
    user = await store.users.create(
      { username: options.username ?? 'admin', displayName: 'Administrator', isAdmin: true },
      null,
    );
  } catch (err) {
    // Another process made the first user between our count and our insert.
    if (err instanceof BackendError && err.code === 'conflict') return undefined;
    throw err;
  }
  const { token } = await store.tokens.create(user.id, { name: 'bootstrap' }, null);
  return { user, token };
}
