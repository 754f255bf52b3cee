/** /api/v1/stack-templates and /api/v1/provisioners. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { canRead } from '../../access/viewer.js';
import { defineRoute, type RouteRegistry } from '../define.js';
import { setEtag } from '../etag.js';
import { found } from '../guard.js';
import { provisionerSchema, slugName, templateSchema } from '../schemas.js';
import { levelledFields, levelledRoutes } from './levelled.js';

const templateFields = { title: z.string().min(1).max(200), description: z.string().max(10_000).optional() };
const provisionerFields = { type: z.literal('shell').optional() };

export function templateRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  levelledRoutes(app, registry, {
    base: '/api/v1/stack-templates',
    tag: 'stack-templates',
    noun: 'stack template',
    schema: templateSchema,
    repo: store.templates,
    newBody: z.object({ ...templateFields, ...levelledFields }),
    patchBody: z
      .object({ ...templateFields, ...levelledFields })
      .partial()
      .strict(),
    create: (input, owner) => store.templates.create(input, owner.id),
  });

  levelledRoutes(app, registry, {
    base: '/api/v1/provisioners',
    tag: 'provisioners',
    noun: 'provisioner',
    schema: provisionerSchema,
    repo: store.provisioners,
    newBody: z.object({ name: slugName, ...provisionerFields, ...levelledFields }),
    patchBody: z
      .object({ ...provisionerFields, ...levelledFields })
      .partial()
      .strict(),
    create: (input, owner) => store.provisioners.create(input, owner),
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/provisioners/by-slug/:username/:name',
    tag: 'provisioners',
    summary: 'A provisioner by its slug `username/name`',
    params: z.object({ username: z.string(), name: z.string() }),
    response: provisionerSchema,
    async handler({ params, principal, reply }) {
      const slug = `${params.username}/${params.name}`;
      const provisioner = await store.provisioners.bySlug(slug);
      found(provisioner && canRead(principal.viewer, provisioner), 'provisioner', slug);
      setEtag(reply, provisioner!);
      return provisioner;
    },
  });
}
