/**
 * First start: with no user at all, Kloud creates the `admin` user and an API token for it,
 * prints both with its URL, and keeps the token in `<dataDir>/admin-token` (mode 0600) so a
 * script on this host can pick it up. Later starts print the URL only.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '@kk/backend/store/store.js';

export interface Bootstrap {
  created: boolean;
  username?: string;
  token?: string;
  tokenFile: string;
}

export async function bootstrapAdmin(store: Store, dataDir: string): Promise<Bootstrap> {
  const tokenFile = join(dataDir, 'admin-token');
  if ((await store.users.count()) > 0) return { created: false, tokenFile };
  const user = await store.users.create(
    { username: 'admin', displayName: 'Administrator', isAdmin: true },
    null,
  );
  const { token } = await store.tokens.create(user.id, { name: 'bootstrap' }, user.id);
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  return { created: true, username: user.username, token, tokenFile };
}
