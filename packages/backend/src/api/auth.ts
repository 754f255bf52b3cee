/**
 * Bearer API tokens → the user and viewer every route is authorised as. Exported so Kloud can
 * authenticate its own routes and WebSocket upgrades the same way.
 */
import type { FastifyRequest } from 'fastify';
import type { Viewer } from '../access/viewer.js';
import { errors } from '../errors.js';
import type { ApiToken } from '../repos/tokens.js';
import type { User } from '../repos/users.js';
import type { Store } from '../store/store.js';

export interface Principal {
  user: User;
  viewer: Viewer;
  token: ApiToken;
}

/** The principal an `Authorization` header value names; throws unauthenticated (401) otherwise. */
export async function resolveBearer(store: Store, header: string | undefined): Promise<Principal> {
  if (!header) throw errors.unauthenticated('send Authorization: Bearer <api token>');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw errors.unauthenticated('the Authorization header must be `Bearer <api token>`');
  const token = await store.tokens.verify(match[1]!);
  if (!token) throw errors.unauthenticated('the API token is unknown, revoked or expired');
  const user = await store.users.get(token.userId);
  if (!user) throw errors.unauthenticated('the API token belongs to a deleted user');
  return {
    user,
    token,
    viewer: await store.viewerOf(user),
  };
}

export function authenticate(store: Store, request: FastifyRequest): Promise<Principal> {
  return resolveBearer(store, request.headers.authorization);
}
