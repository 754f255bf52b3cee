/**
 * Kloud's REST routes, beside the backend's `/api/v1` CRUD: lifecycle calls, machine state,
 * events, access tokens, sharing, stacks (plan/apply/destroy/describe), the JWKS and the
 * Klient download. Request bodies are checked with the RPC catalogue's schemas, so REST and
 * RPC accept exactly the same things; both call the same services.
 */
import { createReadStream } from 'node:fs';
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Store } from '@kk/backend/store/store.js';
import { catalogue } from '@kk/protocol/catalogue/index.js';
import type { KeySet } from '@kk/protocol/tokens/index.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { KlientArtifact } from '../download/klient-artifact.js';
import { kloudErrors } from '../errors.js';
import { type MachineAction, machineActions } from '../lifecycle/states.js';
import type { MachineService } from '../machines/service.js';
import { bearerOf, viewerFromToken } from '../server/auth.js';
import type { StackService } from '../stacks/service.js';
import { formatPath } from '../stacks/template.js';

export interface RouteDeps {
  store: Store;
  machines: MachineService;
  stacks: StackService;
  keys: KeySet;
  artifact: () => KlientArtifact;
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success)
    throw kloudErrors.problems(r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  return r.data;
}

const tokenBody = z
  .object({
    scope: z.enum(['owner', 'user', 'readonly']).optional(),
    expiresInSeconds: z.number().int().min(1).max(3600).optional(),
  })
  .strict();
const shareBody = z
  .object({ permanent: z.boolean().default(true), readonly: z.boolean().default(false) })
  .strict();
/** Stack inputs: the RPC method's own schema, with the stack id from the path. */
const stackInputs = (req: FastifyRequest, stackId: string) =>
  parse(catalogue['kloud.plan'].params, { ...((req.body as object | undefined) ?? {}), stackId });

export async function kloudRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const viewer = (req: FastifyRequest): Promise<Viewer> =>
    viewerFromToken(deps.store, bearerOf(req.headers.authorization));
  const id = (req: FastifyRequest, key = 'id') => (req.params as Record<string, string>)[key]!;

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
    return a.file ? reply.send(createReadStream(a.file)) : reply.send(a.body);
  });
  app.get('/download/klient.sha256', async (_req, reply) => {
    reply.header('content-type', 'text/plain');
    return `${deps.artifact().sha256}  klient\n`;
  });

  for (const action of machineActions) {
    app.post(`/api/v1/machines/:id/${action}`, async (req, reply) => {
      const accepted = await deps.machines.call(await viewer(req), id(req), action as MachineAction);
      return reply.code(202).send(accepted);
    });
  }
  app.get('/api/v1/machines/:id/state', async (req) => deps.machines.info(await viewer(req), id(req)));
  app.get('/api/v1/machines/:id/events', async (req) => {
    const q = parse(
      z.object({
        after: z.coerce.number().int().optional(),
        limit: z.coerce.number().int().min(1).max(1000).optional(),
      }),
      req.query,
    );
    return {
      events: await deps.machines.events(await viewer(req), {
        machineId: id(req),
        afterSeq: q.after,
        limit: q.limit,
      }),
    };
  });
  app.get('/api/v1/events/:id', async (req) => {
    const q = parse(z.object({ after: z.coerce.number().int().optional() }), req.query);
    return { events: await deps.machines.events(await viewer(req), { eventId: id(req), afterSeq: q.after }) };
  });
  app.post('/api/v1/machines/:id/token', async (req) =>
    deps.machines.token(await viewer(req), id(req), parse(tokenBody, req.body)),
  );
  app.put('/api/v1/machines/:id/shares/:userId', async (req) => ({
    users: await deps.machines.share(await viewer(req), id(req), {
      userId: id(req, 'userId'),
      ...parse(shareBody, req.body),
    }),
  }));
  app.delete('/api/v1/machines/:id/shares/:userId', async (req) =>
    deps.machines.unshare(await viewer(req), id(req), id(req, 'userId')),
  );

  app.post('/api/v1/stacks/:id/plan', async (req) =>
    deps.stacks.plan(await viewer(req), stackInputs(req, id(req))),
  );
  app.post('/api/v1/stacks/:id/apply', async (req, reply) =>
    reply.code(202).send(await deps.stacks.apply(await viewer(req), stackInputs(req, id(req)))),
  );
  app.post('/api/v1/stacks/:id/destroy', async (req, reply) =>
    reply.code(202).send(await deps.stacks.destroy(await viewer(req), id(req))),
  );
  app.get('/api/v1/stacks/:id/describe', async (req) => deps.stacks.describe(await viewer(req), id(req)));
}
