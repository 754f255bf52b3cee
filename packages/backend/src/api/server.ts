/**
 * The REST API as a fastify instance (`buildApi`) or onto one Kloud already has (`registerApi`).
 * Either way the caller gets the route registry back, to add routes with `defineRoute` that
 * share the auth, the error shape and the OpenAPI document.
 */
import { AuthThrottle, type AuthThrottleOptions } from '@kk/protocol/node/auth-throttle.js';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../store/store.js';
import { defineRoute, type RouteRegistry } from './define.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { openApiDocument } from './openapi.js';
import { registerRoutes } from './routes/index.js';

export interface ApiOptions {
  store: Store;
  /** Check every answer against its declared schema (tests); a mismatch is a logged 500. */
  checkResponses?: boolean;
  /** Largest request body accepted, bytes; default 1 MiB. */
  bodyLimit?: number;
  /**
   * How long a client may take to send a request's headers (an upgrade's too) before its socket is
   * closed; default 20 s. Node's own default (60 s, checked every 30 s) lets a client that sends
   * half a request and stalls hold a socket for up to 90 s.
   */
  headersTimeoutMs?: number;
  /** Failed logins allowed per client address (default: 20 a minute, 10,000 addresses remembered). */
  authThrottle?: Partial<AuthThrottleOptions>;
}

/** Adds error handling, every /api/v1 route, the probes and the OpenAPI document to `app`. */
export function registerApi(app: FastifyInstance, options: ApiOptions): RouteRegistry {
  const registry: RouteRegistry = {
    store: options.store,
    routes: [],
    checkResponses: options.checkResponses ?? false,
    authThrottle: new AuthThrottle(options.authThrottle),
  };
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  registerRoutes(app, registry);
  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/openapi.json',
    tag: 'meta',
    auth: false,
    summary: 'This document',
    response: z.record(z.string(), z.unknown()),
    handler: async () => openApiDocument(registry),
  });
  return registry;
}

/**
 * A fastify instance serving the API, logging through `logger` (a pino logger). Fastify's request
 * logs carry method, url and addresses — no headers or bodies — so tokens and secrets stay out. Call `listen` on it, or `inject` in tests.
 */
export function buildApi(options: ApiOptions & { logger: FastifyBaseLogger }): {
  app: FastifyInstance;
  registry: RouteRegistry;
} {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    http: {
      headersTimeout: options.headersTimeoutMs ?? 20_000,
      connectionsCheckingInterval: Math.min(2_000, options.headersTimeoutMs ?? 2_000),
    },
  });
  const registry = registerApi(app, options);
  return { app, registry };
}
