import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiHarness } from '../testing/api.js';
import { defineRoute } from './define.js';
import { errorHandler } from './errors.js';

const { harness, world } = apiHarness();
afterAll(() => harness.teardown());

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  it('describes every declared route, with resolvable references and If-Match where updates need it', async () => {
    const w = await world();
    const doc = (await w.call(undefined, 'GET', '/api/v1/openapi.json')).body;
    for (const route of w.registry.routes) {
      const op = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.url}`).toBeDefined();
      if (route.ifMatch)
        expect(op.parameters.some((p: { name: string }) => p.name === 'If-Match')).toBe(true);
    }
    for (const ref of refs(doc)) {
      const name = ref.replace('#/components/schemas/', '');
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
    expect(doc.components.schemas.Machine.properties.status.properties.state.enum).toContain('Running');
    expect(doc.paths['/api/v1/machines/{id}'].patch.requestBody).toBeDefined();
  });

  it('lists a route Kloud adds with defineRoute, which shares auth and the error shape', async () => {
    const w = await world();
    // Fastify allows routes only before ready; a fresh instance stands in for Kloud's server.
    const Fastify = (await import('fastify')).default;
    const app = Fastify();
    app.setErrorHandler(errorHandler);
    defineRoute(app, w.registry, {
      method: 'POST',
      url: '/api/v1/machines/:id/build',
      tag: 'machines',
      summary: 'Build a machine (Kloud)',
      params: z.object({ id: z.string() }),
      response: z.object({ eventId: z.string() }),
      status: 202,
      handler: async ({ params, principal }) => ({
        eventId: `build-${params.id}-${principal.user.username}`,
      }),
    });
    const anonymous = await app.inject({ method: 'POST', url: '/api/v1/machines/m1/build' });
    expect(anonymous.statusCode).toBe(401);
    expect(JSON.parse(anonymous.body).error.code).toBe('unauthenticated');
    const ok = await app.inject({
      method: 'POST',
      url: '/api/v1/machines/m1/build',
      headers: { authorization: `Bearer ${w.admin.token}` },
    });
    expect(ok.statusCode).toBe(202);
    expect(JSON.parse(ok.body)).toEqual({ eventId: 'build-m1-admin' });
    const doc = (await w.call(undefined, 'GET', '/api/v1/openapi.json')).body;
    expect(doc.paths['/api/v1/machines/{id}/build'].post.summary).toBe('Build a machine (Kloud)');
    await app.close();
  });
});
