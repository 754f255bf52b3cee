/**
 * The routes stack templates and provisioners share: both are content with an access level
 * (private | group | public). Readers per level see it; only the owner (or an admin) changes it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { canRead, canWrite, type LevelledResource, type Viewer } from '../../access/viewer.js';
import type { Page, PageQuery } from '../../repos/common.js';
import type { Actor } from '../../repos/context.js';
import type { AccessLevel } from '../../store/schema.js';
import { defineRoute, idParams, type RouteRegistry } from '../define.js';
import { ifMatchVersion, setEtag } from '../etag.js';
import { allow, allowGroup, found } from '../guard.js';
import { pageOf, pageQuery } from '../pagination.js';
import { accessLevel, id } from '../schemas.js';

type Levelled = LevelledResource & { id: string; version: number };

export interface LevelledRepo<T extends Levelled, _N, U> {
  get(id: string): Promise<T | undefined>;
  list(
    viewer: Viewer,
    query: PageQuery & { ownerId?: string; accessLevel?: AccessLevel; groupId?: string },
  ): Promise<Page<T>>;
  update(id: string, patch: U, ifVersion: number | undefined, actor: Actor): Promise<T>;
  delete(id: string, ifVersion: number | undefined, actor: Actor): Promise<void>;
}

export const levelledFields = {
  content: z.string().max(1_000_000),
  accessLevel: accessLevel.optional(),
  groupId: id.nullable().optional(),
};

export function levelledRoutes<
  T extends Levelled,
  N extends { groupId?: string | null },
  U extends { groupId?: string | null },
>(
  app: FastifyInstance,
  registry: RouteRegistry,
  spec: {
    base: string;
    tag: string;
    noun: string;
    schema: z.ZodType;
    repo: LevelledRepo<T, N, U>;
    newBody: z.ZodType<N>;
    patchBody: z.ZodType<U>;
    create(input: N, principal: { id: string; username: string }): Promise<T>;
  },
): void {
  const { base, tag, noun, schema, repo } = spec;

  const readable = async (resourceId: string, viewer: Viewer): Promise<T> => {
    const resource = await repo.get(resourceId);
    return found(resource && canRead(viewer, resource) && resource, noun, resourceId);
  };

  defineRoute(app, registry, {
    method: 'GET',
    url: base,
    tag,
    summary: `${noun}s the caller may read (own, their groups', public)`,
    query: pageQuery.extend({
      ownerId: id.optional(),
      accessLevel: accessLevel.optional(),
      groupId: id.optional(),
    }),
    response: pageOf(schema),
    handler: ({ query, principal }) => repo.list(principal.viewer, query),
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: base,
    tag,
    summary: `Create a ${noun}`,
    body: spec.newBody,
    response: schema,
    status: 201,
    async handler({ body, principal, reply }) {
      allowGroup(principal.viewer, body.groupId);
      const created = await spec.create(body, principal.user);
      setEtag(reply, created);
      return created;
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: `${base}/:id`,
    tag,
    summary: `One ${noun}`,
    params: idParams,
    response: schema,
    async handler({ params, principal, reply }) {
      const resource = await readable(params.id, principal.viewer);
      setEtag(reply, resource);
      return resource;
    },
  });

  defineRoute(app, registry, {
    method: 'PATCH',
    url: `${base}/:id`,
    tag,
    summary: `Change a ${noun} (its owner)`,
    params: idParams,
    ifMatch: true,
    body: spec.patchBody,
    response: schema,
    async handler({ params, body, principal, request, reply }) {
      const resource = await readable(params.id, principal.viewer);
      allow(canWrite(principal.viewer, resource), `only the owner changes a ${noun}`);
      allowGroup(principal.viewer, body.groupId);
      const updated = await repo.update(params.id, body, ifMatchVersion(request), principal.user.id);
      setEtag(reply, updated);
      return updated;
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: `${base}/:id`,
    tag,
    summary: `Delete a ${noun} (its owner)`,
    params: idParams,
    ifMatch: true,
    async handler({ params, principal, request }) {
      const resource = await readable(params.id, principal.viewer);
      allow(canWrite(principal.viewer, resource), `only the owner deletes a ${noun}`);
      await repo.delete(params.id, ifMatchVersion(request), principal.user.id);
    },
  });
}
