/**
 * How a route is declared: method, path, zod schemas for params, query, body and response, and a
 * handler that gets the parsed input and the caller. The same declaration validates requests,
 * feeds the OpenAPI document, and (with `checkResponses`) checks that answers match what the
 * document promises. Kloud declares its own routes (machine lifecycle) with `defineRoute` too.
 */
import type { AuthThrottle } from '@kk/protocol/node/auth-throttle.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errors } from '../errors.js';
import type { Store } from '../store/store.js';
import { authenticate, type Principal } from './auth.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContext<P, Q, B> {
  request: FastifyRequest;
  reply: FastifyReply;
  params: P;
  query: Q;
  body: B;
  /** The authenticated caller (routes declared `auth: false` get none). */
  principal: Principal;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Fastify path syntax: `/api/v1/machines/:id`. */
  url: string;
  summary: string;
  /** OpenAPI tag, usually the resource. */
  tag: string;
  /** Default true; health probes and the document itself are public. */
  auth?: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The success body; omit for 204 No Content. */
  response?: z.ZodType;
  /** Success status; default 200 (204 without a response schema). */
  status?: number;
  /** Sends If-Match (documented in OpenAPI). */
  ifMatch?: boolean;
  handler(ctx: RouteContext<P, Q, B>): Promise<unknown>;
}

export interface RouteRegistry {
  store: Store;
  routes: RouteSpec[];
  checkResponses: boolean;
  /** Failed logins per client address (shared by every route of the API). */
  authThrottle: AuthThrottle;
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({ in: where, path: i.path.join('.'), message: i.message }));
  const first = details[0]!;
  throw errors.invalid(
    `invalid ${where}${first.path ? ` field ${first.path}` : ''}: ${first.message}`,
    details,
  );
}

/** Registers a route on `app` and records it for the OpenAPI document. */
export function defineRoute<P, Q, B>(
  app: FastifyInstance,
  registry: RouteRegistry,
  declared: RouteSpec<P, Q, B>,
): void {
  // A body field the route does not know is a mistake the caller should hear about, not a no-op.
  const spec =
    declared.body instanceof z.ZodObject
      ? { ...declared, body: declared.body.strict() as z.ZodType<B> }
      : declared;
  registry.routes.push(spec as RouteSpec);
  app.route({
    method: spec.method,
    url: spec.url,
    handler: async (request, reply) => {
      const principal =
        spec.auth === false
          ? (undefined as never)
          : await authenticate(registry.store, request, registry.authThrottle);
      const ctx: RouteContext<P, Q, B> = {
        request,
        reply,
        principal,
        params: parse(spec.params, request.params, 'path'),
        query: parse(spec.query, request.query, 'query'),
        body: parse(spec.body, request.body, 'body'),
      };
      const result = await spec.handler(ctx);
      if (!spec.response) return reply.status(spec.status ?? 204).send();
      if (registry.checkResponses) {
        const checked = spec.response.safeParse(result);
        if (!checked.success) {
          request.log.error(
            { issues: checked.error.issues, url: spec.url },
            'response does not match its schema',
          );
          throw errors.internal();
        }
      }
      return reply.status(spec.status ?? 200).send(result);
    },
  });
}

/** `z.object` with the one id shape every path parameter has. */
export const idParams = z.object({ id: z.string().regex(/^[0-9a-f]{28}$/, 'not an id') });
