/** /api/v1/audit: who changed what, when. Admins read all of it; others read their own actions. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineRoute, type RouteRegistry } from '../define.js';
import { allow } from '../guard.js';
import { pageOf } from '../pagination.js';
import { auditSchema, id, pageCursor } from '../schemas.js';

export function auditRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/audit',
    tag: 'audit',
    summary: 'Audit entries, newest first',
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      cursor: pageCursor,
      actorId: id.optional(),
      resourceType: z.string().max(50).optional(),
      resourceId: z.string().max(100).optional(),
    }),
    response: pageOf(auditSchema),
    async handler({ query, principal }) {
      const actorId = principal.viewer.isAdmin ? query.actorId : (query.actorId ?? principal.user.id);
      allow(
        principal.viewer.isAdmin || actorId === principal.user.id,
        'only admins read other users’ actions',
      );
      return store.audit.list({ ...query, actorId });
    },
  });
}
