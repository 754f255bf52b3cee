/**
 * Who is logged in: the API token (kept in localStorage so a reload stays logged in), the REST
 * client and the live event connection made with it.
 */
import { Api } from './kloud/api.js';
import { KloudEvents } from './kloud/events.js';
import type { User } from './kloud/types.js';

const TOKEN_KEY = 'kk.apiToken';

export interface Session {
  api: Api;
  events: KloudEvents;
  user: User;
}

/** Checks the token with Kloud; throws ApiError (401) when it is not valid. */
export async function logIn(token: string): Promise<Session> {
  const api = new Api(token.trim());
  const user = await api.get<User>('/api/v1/users/me');
  localStorage.setItem(TOKEN_KEY, token.trim());
  return { api, events: new KloudEvents(token.trim()), user };
}

export function savedToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function logOut(session: Session | undefined): void {
  localStorage.removeItem(TOKEN_KEY);
  session?.events.close();
}
