/**
 * Bearer API tokens → the user and viewer every route is authorised as. Exported so Kloud can
 * authenticate its own routes and WebSocket upgrades the same way.
 *
 * Guessing tokens is throttled per client address (the protocol's AuthThrottle, the same rule
 * as Kloud's WebSocket endpoints): a request that presents a token which fails counts; past the
 * limit the address is answered 429 with Retry-After before its token is looked at. A request
 * with no Authorization header is not a guess and does not count. A success does not clear the
 * count, so one valid token cannot be used to keep guessing others.
 */
import type { AuthThrottle } from '@kk/protocol/node/auth-throttle.js';
import type { FastifyRequest } from 'fastify';
import type { Viewer } from '../access/viewer.js';
import { BackendError, errors } from '../errors.js';
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

export async function authenticate(
  store: Store,
  request: FastifyRequest,
  throttle?: AuthThrottle,
): Promise<Principal> {
  const header = request.headers.authorization;
  const address = request.ip;
  const wait = throttle?.retryAfter(address) ?? 0;
  if (wait > 0) {
    const seconds = Math.ceil(wait / 1000);
    throw errors.rateLimited(`too many failed logins from this address; try again in ${seconds} s`, seconds);
  }
  try {
    return await resolveBearer(store, header);
  } catch (err) {
    if (header && err instanceof BackendError && err.code === 'unauthenticated') throttle?.fail(address);
    throw err;
  }
}
