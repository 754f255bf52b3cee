/**
 * Kloud's REST routes, declared with the backend's `defineRoute` beside its `/api/v1` CRUD, so
 * they share its bearer auth, its error shape and the OpenAPI document: lifecycle calls,
 * machine state, access tokens, stack plan/apply/destroy/describe and stack job events. Bodies
 * are checked with the RPC catalogue's schemas, so REST and RPC accept exactly the same things,
 * and both call the same services. Also the JWKS and the Klient download (no auth).
 */
import { createReadStream } from 'node:fs';
import { defineRoute, idParams, type RouteRegistry } from '@kk/backend/api/define.js';
import { catalogue } from '@kk/protocol/catalogue/index.js';
import type { KeySet } from '@kk/protocol/tokens/index.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { KlientArtifact } from '../download/klient-artifact.js';
import { machineActions } from '../lifecycle/states.js';
import type { MachineService } from '../machines/service.js';
import type { StackService } from '../stacks/service.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { asBackendError } from './backend-error.js';

export interface RouteDeps {
  machines: MachineService;
  stacks: StackService;
  keys: KeySet;
  artifact: () => KlientArtifact;
  tunnel: Tunnel;
  /** Gives every connected Klient a kite.key signed by the current key (after a rotation). */
  rekey: () => Promise<void>;
}

/** Runs a handler, turning Kloud's errors into the API's error shape. */
async function kloud<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asBackendError(err);
  }
}

const tokenBody = z
  .object({
    scope: z.enum(['owner', 'user', 'readonly']).optional(),
    expiresInSeconds: z.number().int().min(1).max(3600).optional(),
  })
  .strict()
  .default({});
const stackBody = catalogue['kloud.plan'].params.omit({ stackId: true }).default({});
const eventParams = z.object({ id: z.string().min(1).max(200) });
const eventsQuery = z.object({
  after: z.coerce.number().int().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export function kloudRoutes(app: FastifyInstance, registry: RouteRegistry, deps: RouteDeps): void {
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=60');
    return deps.keys.toJWKS();
  });
  app.get('/download/klient', async (_req, reply) => {
    const a = deps.artifact();
    reply.header('content-type', 'application/octet-stream');
    reply.header('x-klient-sha256', a.sha256);
    reply.header('x-klient-version', a.version);
    reply.header('content-length', a.size);
    return reply.send(a.file ? createReadStream(a.file) : a.body);
  });
  app.get('/download/klient.sha256', async (_req, reply) => {
    reply.header('content-type', 'text/plain');
    return `${deps.artifact().sha256}  klient\n`;
  });

  for (const action of machineActions) {
    defineRoute(app, registry, {
      method: 'POST',
      url: `/api/v1/machines/:id/${action}`,
      tag: 'lifecycle',
      summary: `${catalogue[`kloud.${action}`].summary} (202; follow the event id)`,
      params: idParams,
      response: catalogue[`kloud.${action}`].result,
      status: 202,
      handler: ({ params, principal }) =>
        kloud(() => deps.machines.call(principal.viewer, params.id, action)),
    });
  }
  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/machines/:id/state',
    tag: 'lifecycle',
    summary: catalogue['kloud.info'].summary,
    params: idParams,
    response: catalogue['kloud.info'].result,
    handler: ({ params, principal }) => kloud(() => deps.machines.info(principal.viewer, params.id)),
  });
  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/machines/:id/token',
    tag: 'lifecycle',
    summary:
      'An access token (≤ 1 h) to reach the machine’s Klient, through Kloud (url) or directly (directUrl)',
    params: idParams,
    body: tokenBody,
    response: z.object({
      token: z.string(),
      expiresAt: z.number(),
      scope: z.enum(['owner', 'user', 'readonly']),
      kiteId: z.string(),
      url: z.string(),
      directUrl: z.string().nullable(),
    }),
    handler: ({ params, body, principal }) =>
      kloud(() => deps.machines.token(principal.viewer, params.id, body)),
  });
  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/events/:id',
    tag: 'lifecycle',
    summary: 'Progress events of a lifecycle call or a stack apply/destroy (its event id), oldest first',
    params: eventParams,
    query: eventsQuery,
    response: catalogue['kloud.events'].result,
    handler: ({ params, query, principal }) =>
      kloud(async () => ({
        events: await deps.machines.events(principal.viewer, {
          eventId: params.id,
          afterSeq: query.after,
          limit: query.limit,
        }),
      })),
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/stacks/:id/plan',
    tag: 'stacks',
    summary: catalogue['kloud.plan'].summary,
    params: idParams,
    body: stackBody,
    response: catalogue['kloud.plan'].result,
    handler: ({ params, body, principal }) =>
      kloud(() => deps.stacks.plan(principal.viewer, { ...body, stackId: params.id })),
  });
  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/stacks/:id/apply',
    tag: 'stacks',
    summary: catalogue['kloud.apply'].summary,
    params: idParams,
    body: stackBody,
    status: 202,
    response: catalogue['kloud.apply'].result,
    handler: ({ params, body, principal }) =>
      kloud(() => deps.stacks.apply(principal.viewer, { ...body, stackId: params.id })),
  });
  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/stacks/:id/destroy',
    tag: 'stacks',
    summary: catalogue['kloud.destroyStack'].summary,
    params: idParams,
    status: 202,
    response: catalogue['kloud.destroyStack'].result,
    handler: ({ params, principal }) => kloud(() => deps.stacks.destroy(principal.viewer, params.id)),
  });
  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/stacks/:id/describe',
    tag: 'stacks',
    summary: catalogue['kloud.describeStack'].summary,
    params: idParams,
    response: catalogue['kloud.describeStack'].result,
    handler: ({ params, principal }) => kloud(() => deps.stacks.describe(principal.viewer, params.id)),
  });
}
