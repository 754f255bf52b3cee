/**
 * /api/v1/credentials: provider accounts. Everyone with access sees the metadata and the secret's
 * keys with masked values; only owner-level callers read the secret (`/data`), change, delete or
 * share it. User-level callers may only build with it (Kloud asks the store for the secret).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Credential } from '../../repos/credentials.js';
import type { ShareLevel } from '../../store/schema.js';
import type { Principal } from '../auth.js';
import { defineRoute, idParams, type RouteRegistry } from '../define.js';
import { ifMatchVersion, setEtag } from '../etag.js';
import { allow, found } from '../guard.js';
import { pageOf, pageQuery } from '../pagination.js';
import { credentialSchema, id, shareLevel, shareSchema } from '../schemas.js';

const secretData = z
  .record(z.string().min(1).max(100), z.string().max(16_384))
  .refine((d) => Object.keys(d).length > 0 && Object.keys(d).length <= 50, '1 to 50 secret fields');
const target = z.object({ targetType: z.enum(['user', 'group']), targetId: id });

export function credentialRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  const tag = 'credentials';

  async function withAccess(credentialId: string, principal: Principal) {
    const credential = await store.credentials.get(credentialId);
    const access = credential && (await store.credentials.accessOf(principal.viewer, credentialId));
    found(credential && access, 'credential', credentialId);
    return { credential: credential!, access: access as ShareLevel };
  }

  const owning = async (credentialId: string, principal: Principal, what: string) => {
    const it = await withAccess(credentialId, principal);
    allow(it.access === 'owner', `only owners ${what}; you may use this credential but not see or change it`);
    return it;
  };

  const shown = async (credential: Credential, access: ShareLevel) => ({
    ...credential,
    data: await store.credentials.maskedSecret(credential.id),
    access,
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/credentials',
    tag,
    summary: 'Credentials the caller owns or that are shared with them or their groups',
    query: pageQuery.extend({ provider: z.string().optional() }),
    response: pageOf(credentialSchema),
    async handler({ query, principal }) {
      const page = await store.credentials.list(principal.viewer, query);
      const levels = await store.credentials.accessLevels(principal.viewer, page.items);
      const items = await Promise.all(page.items.map((c) => shown(c, levels.get(c.id)!)));
      return { items, nextCursor: page.nextCursor };
    },
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/credentials',
    tag,
    summary: 'Create a credential; its data is sealed at rest',
    body: z.object({
      provider: z.string().min(1).max(50),
      title: z.string().min(1).max(200),
      fields: z.record(z.string(), z.unknown()).optional(),
      data: secretData,
    }),
    response: credentialSchema,
    status: 201,
    async handler({ body, principal, reply }) {
      const credential = await store.credentials.create(body, principal.user.id);
      setEtag(reply, credential);
      return shown(credential, 'owner');
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/credentials/:id',
    tag,
    summary: 'One credential, secret masked',
    params: idParams,
    response: credentialSchema,
    async handler({ params, principal, reply }) {
      const { credential, access } = await withAccess(params.id, principal);
      setEtag(reply, credential);
      return shown(credential, access);
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/credentials/:id/data',
    tag,
    summary: 'The secret in clear (owners only)',
    params: idParams,
    response: z.object({ data: z.record(z.string(), z.string()) }),
    async handler({ params, principal, reply }) {
      const { credential } = await owning(params.id, principal, 'read the secret');
      setEtag(reply, credential);
      reply.header('cache-control', 'no-store');
      return { data: await store.credentials.secret(params.id) };
    },
  });

  defineRoute(app, registry, {
    method: 'PATCH',
    url: '/api/v1/credentials/:id',
    tag,
    summary: 'Change a credential (owners); new data replaces the whole secret',
    params: idParams,
    ifMatch: true,
    body: z
      .object({
        title: z.string().min(1).max(200).optional(),
        fields: z.record(z.string(), z.unknown()).optional(),
        data: secretData.optional(),
      })
      .strict(),
    response: credentialSchema,
    async handler({ params, body, principal, request, reply }) {
      await owning(params.id, principal, 'change a credential');
      const credential = await store.credentials.update(
        params.id,
        body,
        ifMatchVersion(request),
        principal.user.id,
      );
      setEtag(reply, credential);
      return shown(credential, 'owner');
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/credentials/:id',
    tag,
    summary: 'Delete a credential (owners)',
    params: idParams,
    ifMatch: true,
    async handler({ params, principal, request }) {
      await owning(params.id, principal, 'delete a credential');
      await store.credentials.delete(params.id, ifMatchVersion(request), principal.user.id);
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/credentials/:id/shares',
    tag,
    summary: 'Who the credential is shared with (owners)',
    params: idParams,
    response: z.object({ items: z.array(shareSchema) }),
    async handler({ params, principal }) {
      await owning(params.id, principal, 'see the shares');
      return { items: await store.credentials.shares(params.id) };
    },
  });

  defineRoute(app, registry, {
    method: 'PUT',
    url: '/api/v1/credentials/:id/shares',
    tag,
    summary: 'Share with a user or group as owner or user (owners)',
    params: idParams,
    body: target.extend({ level: shareLevel }),
    response: z.object({ items: z.array(shareSchema) }),
    async handler({ params, body, principal }) {
      await owning(params.id, principal, 'share a credential');
      await store.credentials.share(params.id, body, body.level, principal.user.id);
      return { items: await store.credentials.shares(params.id) };
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/credentials/:id/shares/:targetType/:targetId',
    tag,
    summary: 'Stop sharing with a user or group (owners)',
    params: target.extend({ id }),
    async handler({ params, principal }) {
      await owning(params.id, principal, 'unshare a credential');
      await store.credentials.unshare(
        params.id,
        { targetType: params.targetType, targetId: params.targetId },
        principal.user.id,
      );
    },
  });
}
