/** /api/v1/jobs and machine events: what Kloud did and is doing, for those who may see the machine. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../auth.js';
import { defineRoute, idParams, type RouteRegistry } from '../define.js';
import { allow, found } from '../guard.js';
import { pageOf, pageQuery } from '../pagination.js';
import { eventSchema, id, jobSchema } from '../schemas.js';

const eventQuery = z.object({
  after: z.coerce.number().int().min(0).optional().describe('only events after this seq'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export function jobRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  const tag = 'jobs';

  async function seesMachine(machineId: string | null, principal: Principal): Promise<boolean> {
    if (principal.viewer.isAdmin) return true;
    if (!machineId) return false;
    const machine = await store.machines.get(machineId);
    return Boolean(machine && store.machines.accessOf(principal.viewer, machine));
  }

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/jobs',
    tag,
    summary: "A machine's jobs (any jobs, for admins)",
    query: pageQuery.extend({
      machineId: id.optional(),
      state: z.enum(['queued', 'running', 'done', 'failed']).optional(),
      kind: z.string().optional(),
    }),
    response: pageOf(jobSchema),
    async handler({ query, principal }) {
      allow(
        principal.viewer.isAdmin || query.machineId !== undefined,
        'name a machineId; only admins list every job',
      );
      found(
        (await seesMachine(query.machineId ?? null, principal)) || undefined,
        'machine',
        query.machineId ?? '',
      );
      return store.jobs.list(query);
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/jobs/:id',
    tag,
    summary: 'One job',
    params: idParams,
    response: jobSchema,
    async handler({ params, principal }) {
      const job = await store.jobs.get(params.id);
      return found(job && (await seesMachine(job.machineId, principal)) && job, 'job', params.id);
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/jobs/:id/events',
    tag,
    summary: "A job's progress events, oldest first",
    params: idParams,
    query: eventQuery,
    response: z.object({ items: z.array(eventSchema) }),
    async handler({ params, query, principal }) {
      const job = await store.jobs.get(params.id);
      found(job && (await seesMachine(job.machineId, principal)), 'job', params.id);
      return { items: await store.events.list({ jobId: params.id, ...query }) };
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/machines/:id/events',
    tag: 'machines',
    summary: "A machine's progress events, oldest first (filter by eventId)",
    params: idParams,
    query: eventQuery.extend({ eventId: z.string().max(200).optional() }),
    response: z.object({ items: z.array(eventSchema) }),
    async handler({ params, query, principal }) {
      found((await seesMachine(params.id, principal)) || undefined, 'machine', params.id);
      return { items: await store.events.list({ machineId: params.id, ...query }) };
    },
  });
}
