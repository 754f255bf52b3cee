/** /api/v1/stacks: a user's instances of templates, with configuration for their machines. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { canRead, canWrite, type Viewer } from '../../access/viewer.js';
import { defineRoute, idParams, type RouteRegistry } from '../define.js';
import { ifMatchVersion, setEtag } from '../etag.js';
import { allowGroup, found } from '../guard.js';
import { pageOf, pageQuery } from '../pagination.js';
import { envName, id, stackSchema } from '../schemas.js';

const config = z.record(envName, z.string().max(65_536));

export function stackRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  const tag = 'stacks';

  const own = async (stackId: string, viewer: Viewer) => {
    const stack = await store.stacks.get(stackId);
    return found(stack && canWrite(viewer, stack) && stack, 'stack', stackId);
  };
  const readableTemplate = async (templateId: string | null | undefined, viewer: Viewer) => {
    if (!templateId) return;
    const template = await store.templates.get(templateId);
    found(template && canRead(viewer, template), 'stack template', templateId);
  };

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/stacks',
    tag,
    summary: "The caller's stacks (everyone's, for admins)",
    query: pageQuery.extend({ templateId: id.optional(), groupId: id.optional(), ownerId: id.optional() }),
    response: pageOf(stackSchema),
    handler: ({ query, principal }) => store.stacks.list(principal.viewer, query),
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/stacks',
    tag,
    summary: 'Create a stack, optionally from a template the caller may read',
    body: z.object({
      title: z.string().min(1).max(200),
      templateId: id.nullable().optional(),
      groupId: id.nullable().optional(),
      config: config.optional(),
    }),
    response: stackSchema,
    status: 201,
    async handler({ body, principal, reply }) {
      await readableTemplate(body.templateId, principal.viewer);
      allowGroup(principal.viewer, body.groupId);
      const stack = await store.stacks.create(body, principal.user.id);
      setEtag(reply, stack);
      return stack;
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/stacks/:id',
    tag,
    summary: 'One stack',
    params: idParams,
    response: stackSchema,
    async handler({ params, principal, reply }) {
      const stack = await own(params.id, principal.viewer);
      setEtag(reply, stack);
      return stack;
    },
  });

  defineRoute(app, registry, {
    method: 'PATCH',
    url: '/api/v1/stacks/:id',
    tag,
    summary: 'Change a stack (config replaces the whole configuration)',
    params: idParams,
    ifMatch: true,
    body: z
      .object({
        title: z.string().min(1).max(200).optional(),
        templateId: id.nullable().optional(),
        config: config.optional(),
      })
      .strict(),
    response: stackSchema,
    async handler({ params, body, principal, request, reply }) {
      await own(params.id, principal.viewer);
      await readableTemplate(body.templateId, principal.viewer);
      const stack = await store.stacks.update(params.id, body, ifMatchVersion(request), principal.user.id);
      setEtag(reply, stack);
      return stack;
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/stacks/:id',
    tag,
    summary: 'Delete a stack record (its machines stay; Kloud destroys them first)',
    params: idParams,
    ifMatch: true,
    async handler({ params, principal, request }) {
      await own(params.id, principal.viewer);
      await store.stacks.delete(params.id, ifMatchVersion(request), principal.user.id);
    },
  });
}
