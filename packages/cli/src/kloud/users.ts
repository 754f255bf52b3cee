import { cliErrors } from '../errors.js';
import type { KloudApi } from './api.js';

/** The id of the user with this exact username. */
export async function userIdByName(api: KloudApi, username: string): Promise<string> {
  const page = await api.get<{ items: Array<{ id: string; username: string }> }>(
    `/api/v1/users?username=${encodeURIComponent(username)}`,
  );
  const user = page.items.find((u) => u.username === username);
  if (!user) throw cliErrors.notFound(`no user named ${username}`);
  return user.id;
}
