/** /api/v1/groups: teams, their members and roles. Members see a group; its admins run it. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../auth.js';
import { defineRoute, idParams, type RouteRegistry } from '../define.js';
import { ifMatchVersion, setEtag } from '../etag.js';
import { allow, found } from '../guard.js';
import { pageOf, pageQuery } from '../pagination.js';
import { groupSchema, id, memberSchema, slugName } from '../schemas.js';

const memberParams = z.object({ id, userId: id });

export function groupRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  const tag = 'groups';

  /** The group if the caller is a member (or a site admin), and whether they may run it. */
  async function visible(groupId: string, principal: Principal) {
    const group = await store.groups.get(groupId);
    const role = await store.groups.roleOf(groupId, principal.user.id);
    found(group && (role !== undefined || principal.viewer.isAdmin), 'group', groupId);
    return { group: group!, isGroupAdmin: role === 'admin' || principal.viewer.isAdmin, role };
  }

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/groups',
    tag,
    summary: 'Groups the caller belongs to (all, for admins)',
    query: pageQuery,
    response: pageOf(groupSchema),
    handler: ({ query, principal }) => store.groups.list(principal.viewer, query),
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/groups',
    tag,
    summary: 'Create a group; the caller becomes its admin',
    body: z.object({ slug: slugName, title: z.string().min(1).max(200).optional() }),
    response: groupSchema,
    status: 201,
    async handler({ body, principal, reply }) {
      const group = await store.groups.create(body, principal.user.id);
      setEtag(reply, group);
      return group;
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/groups/:id',
    tag,
    summary: 'One group',
    params: idParams,
    response: groupSchema,
    async handler({ params, principal, reply }) {
      const { group } = await visible(params.id, principal);
      setEtag(reply, group);
      return group;
    },
  });

  defineRoute(app, registry, {
    method: 'PATCH',
    url: '/api/v1/groups/:id',
    tag,
    summary: 'Change a group (group admins)',
    params: idParams,
    ifMatch: true,
    body: z.object({ title: z.string().min(1).max(200).optional() }).strict(),
    response: groupSchema,
    async handler({ params, body, principal, request, reply }) {
      const { isGroupAdmin } = await visible(params.id, principal);
      allow(isGroupAdmin, 'only group admins change a group');
      const group = await store.groups.update(params.id, body, ifMatchVersion(request), principal.user.id);
      setEtag(reply, group);
      return group;
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/groups/:id',
    tag,
    summary: 'Delete a group (group admins)',
    params: idParams,
    ifMatch: true,
    async handler({ params, principal, request }) {
      const { isGroupAdmin } = await visible(params.id, principal);
      allow(isGroupAdmin, 'only group admins delete a group');
      await store.groups.delete(params.id, ifMatchVersion(request), principal.user.id);
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/groups/:id/members',
    tag,
    summary: 'Members and their roles',
    params: idParams,
    response: z.object({ items: z.array(memberSchema) }),
    async handler({ params, principal }) {
      await visible(params.id, principal);
      return { items: await store.groups.members(params.id) };
    },
  });

  defineRoute(app, registry, {
    method: 'PUT',
    url: '/api/v1/groups/:id/members/:userId',
    tag,
    summary: 'Add a member or change their role (group admins)',
    params: memberParams,
    body: z.object({ role: z.enum(['admin', 'member']).default('member') }),
    response: z.object({ items: z.array(memberSchema) }),
    async handler({ params, body, principal }) {
      const { isGroupAdmin } = await visible(params.id, principal);
      allow(isGroupAdmin, 'only group admins change members');
      await store.groups.setMember(params.id, params.userId, body.role, principal.user.id);
      return { items: await store.groups.members(params.id) };
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/groups/:id/members/:userId',
    tag,
    summary: 'Remove a member (group admins, or the member leaving)',
    params: memberParams,
    async handler({ params, principal }) {
      const { isGroupAdmin } = await visible(params.id, principal);
      allow(isGroupAdmin || params.userId === principal.user.id, 'only group admins remove other members');
      await store.groups.removeMember(params.id, params.userId, principal.user.id);
    },
  });
}
