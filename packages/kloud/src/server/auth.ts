/**
 * Who is calling: a `Authorization: Bearer kk_…` API token (the backend's) turned into the
 * viewer every access check takes. Used by the REST routes and Kloud's RPC endpoint alike.
 */
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Store } from '@kk/backend/store/store.js';
import { kloudErrors } from '../errors.js';

export function bearerOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  return m?.[1];
}

export async function viewerFromToken(store: Store, token: string | undefined): Promise<Viewer> {
  if (!token) throw kloudErrors.unauthenticated('no API token: send Authorization: Bearer <token>');
  const apiToken = await store.tokens.verify(token);
  if (!apiToken) throw kloudErrors.unauthenticated('API token is invalid, expired or revoked');
  return store.viewer(apiToken.userId);
}
