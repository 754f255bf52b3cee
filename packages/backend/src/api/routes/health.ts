/** Probes: /healthz (the process answers) and /readyz (and its database does). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import { defineRoute, type RouteRegistry } from '../define.js';

export function healthRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const status = z.object({ status: z.literal('ok') });
  defineRoute(app, registry, {
    method: 'GET',
    url: '/healthz',
    tag: 'health',
    auth: false,
    summary: 'Liveness: the process answers',
    response: status,
    handler: async () => ({ status: 'ok' as const }),
  });
  defineRoute(app, registry, {
    method: 'GET',
    url: '/readyz',
    tag: 'health',
    auth: false,
    summary: 'Readiness: the database answers (503 otherwise)',
    response: status,
    async handler() {
      if (!(await registry.store.ping())) throw errors.unavailable('the database does not answer');
      return { status: 'ok' as const };
    },
  });
}
