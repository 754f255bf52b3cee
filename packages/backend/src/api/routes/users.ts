/** /api/v1/users and /api/v1/tokens: people and their API tokens. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Viewer } from '../../access/viewer.js';
import type { User } from '../../repos/users.js';
import { defineRoute, idParams, type RouteRegistry } from '../define.js';
import { ifMatchVersion, setEtag } from '../etag.js';
import { allow, found } from '../guard.js';
import { pageOf, pageQuery } from '../pagination.js';
import { slugName, tokenSchema, userSchema } from '../schemas.js';

/** Email is personal: only the user and admins see it. */
const shown = (viewer: Viewer, user: User): User =>
  viewer.isAdmin || viewer.id === user.id ? user : { ...user, email: null };

const email = z.string().email().max(320).nullable();

export function userRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  const tag = 'users';

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/users',
    tag,
    summary: 'List users (filter by exact username)',
    query: pageQuery.extend({ username: z.string().optional() }),
    response: pageOf(userSchema),
    async handler({ query, principal }) {
      const page = await store.users.list(query);
      return { ...page, items: page.items.map((u) => shown(principal.viewer, u)) };
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/users/me',
    tag,
    summary: 'The caller',
    response: userSchema,
    async handler({ principal, reply }) {
      setEtag(reply, principal.user);
      return principal.user;
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/users/:id',
    tag,
    summary: 'One user',
    params: idParams,
    response: userSchema,
    async handler({ params, principal, reply }) {
      const user = found(await store.users.get(params.id), 'user', params.id);
      setEtag(reply, user);
      return shown(principal.viewer, user);
    },
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/users',
    tag,
    summary: 'Create a user (admins only)',
    body: z.object({
      username: slugName,
      email: email.optional(),
      displayName: z.string().min(1).max(200).optional(),
      isAdmin: z.boolean().optional(),
    }),
    response: userSchema,
    status: 201,
    async handler({ body, principal, reply }) {
      allow(principal.viewer.isAdmin, 'only admins create users');
      const user = await store.users.create(body, principal.user.id);
      setEtag(reply, user);
      return user;
    },
  });

  defineRoute(app, registry, {
    method: 'PATCH',
    url: '/api/v1/users/:id',
    tag,
    summary: 'Change a user (themself or an admin; only admins change isAdmin)',
    params: idParams,
    ifMatch: true,
    body: z
      .object({
        email: email.optional(),
        displayName: z.string().min(1).max(200).optional(),
        isAdmin: z.boolean().optional(),
      })
      .strict(),
    response: userSchema,
    async handler({ params, body, principal, request, reply }) {
      found(await store.users.get(params.id), 'user', params.id);
      allow(principal.viewer.isAdmin || principal.user.id === params.id, 'you may change only yourself');
      allow(body.isAdmin === undefined || principal.viewer.isAdmin, 'only admins change isAdmin');
      const user = await store.users.update(params.id, body, ifMatchVersion(request), principal.user.id);
      setEtag(reply, user);
      return user;
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/users/:id',
    tag,
    summary: 'Delete a user and everything they own (admins only, not themselves)',
    params: idParams,
    ifMatch: true,
    async handler({ params, principal, request }) {
      found(await store.users.get(params.id), 'user', params.id);
      allow(principal.viewer.isAdmin, 'only admins delete users');
      allow(principal.user.id !== params.id, 'admins cannot delete themselves; ask another admin');
      await store.users.delete(params.id, ifMatchVersion(request), principal.user.id);
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/tokens',
    tag: 'tokens',
    summary: "The caller's API tokens (admins: anyone's with userId)",
    query: z.object({ userId: z.string().optional() }),
    response: z.object({ items: z.array(tokenSchema) }),
    async handler({ query, principal }) {
      const userId = query.userId ?? principal.user.id;
      allow(userId === principal.user.id || principal.viewer.isAdmin, "only admins list other users' tokens");
      return { items: await store.tokens.listForUser(userId) };
    },
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/tokens',
    tag: 'tokens',
    summary: 'Create an API token; the token string is in this answer only',
    body: z.object({
      name: z.string().min(1).max(100),
      expiresInSeconds: z
        .number()
        .int()
        .min(60)
        .max(10 * 365 * 86400)
        .optional(),
      userId: z.string().optional().describe('admins: make the token for this user'),
    }),
    response: z.object({ token: z.string(), apiToken: tokenSchema }),
    status: 201,
    async handler({ body, principal }) {
      const userId = body.userId ?? principal.user.id;
      allow(
        userId === principal.user.id || principal.viewer.isAdmin,
        'only admins make tokens for other users',
      );
      found(await store.users.get(userId), 'user', userId);
      const expiresAt = body.expiresInSeconds ? Date.now() + body.expiresInSeconds * 1000 : null;
      return store.tokens.create(userId, { name: body.name, expiresAt }, principal.user.id);
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/tokens/:id',
    tag: 'tokens',
    summary: 'Revoke an API token',
    params: idParams,
    async handler({ params, principal }) {
      const token = await store.tokens.get(params.id);
      found(token && (token.userId === principal.user.id || principal.viewer.isAdmin), 'token', params.id);
      await store.tokens.delete(params.id, principal.user.id);
    },
  });
}
