import { afterAll, describe, expect, it } from 'vitest';
import { apiHarness } from '../testing/api.js';

const { harness, world } = apiHarness();
afterAll(() => harness.teardown());

const sample = (url: string) =>
  url.replace(/:[a-zA-Z]+/g, (p) => (p === ':targetType' ? 'user' : '0'.repeat(28)));

describe('authentication', () => {
  it('answers 401 with the one error shape on every authenticated route when no token is sent', async () => {
    const w = await world();
    const guarded = w.registry.routes.filter((r) => r.auth !== false);
    expect(guarded.length).toBeGreaterThan(40);
    for (const route of guarded) {
      const res = await w.call(
        undefined,
        route.method,
        sample(route.url),
        route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
      );
      expect(res.status, `${route.method} ${route.url}`).toBe(401);
      expect(res.body.error.code).toBe('unauthenticated');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('refuses malformed, unknown, revoked and expired tokens, and tokens of deleted users', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    const me = (auth: string) =>
      w.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: auth } });
    expect((await me(`Bearer ${ada.token}`)).statusCode).toBe(200);
    expect((await me(`Basic ${ada.token}`)).statusCode).toBe(401);
    expect((await me('Bearer nonsense')).statusCode).toBe(401);
    const forged = `${ada.token.slice(0, -4)}AAAA`;
    expect((await me(`Bearer ${forged}`)).statusCode).toBe(401);

    const extra = await w.call(ada, 'POST', '/api/v1/tokens', { name: 'laptop' });
    expect(extra.status).toBe(201);
    expect((await me(`Bearer ${extra.body.token}`)).statusCode).toBe(200);
    expect((await w.call(ada, 'DELETE', `/api/v1/tokens/${extra.body.apiToken.id}`)).status).toBe(204);
    expect((await me(`Bearer ${extra.body.token}`)).statusCode).toBe(401);

    const { token: expired } = await w.store.tokens.create(
      ada.user.id,
      { name: 'old', expiresAt: Date.now() - 1 },
      null,
    );
    expect((await me(`Bearer ${expired}`)).statusCode).toBe(401);

    const etag = (await w.call(w.admin, 'GET', `/api/v1/users/${ada.user.id}`)).headers.etag as string;
    expect(
      (await w.call(w.admin, 'DELETE', `/api/v1/users/${ada.user.id}`, undefined, { 'if-match': etag }))
        .status,
    ).toBe(204);
    expect((await me(`Bearer ${ada.token}`)).statusCode).toBe(401);
  });

  it('serves the probes and the OpenAPI document without a token', async () => {
    const w = await world();
    expect((await w.call(undefined, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await w.call(undefined, 'GET', '/readyz')).body).toEqual({ status: 'ok' });
    const doc = await w.call(undefined, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
  });

  it('answers 503 on /readyz when the database is gone', async () => {
    const w = await world();
    await w.store.close();
    const res = await w.call(undefined, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('unavailable');
  });

  it('maps bad requests to the one error shape: unknown route, bad JSON, bad fields, oversized body', async () => {
    const w = await world();
    const missing = await w.call(w.admin, 'GET', '/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const badJson = await w.app.inject({
      method: 'POST',
      url: '/api/v1/groups',
      headers: { authorization: `Bearer ${w.admin.token}`, 'content-type': 'application/json' },
      payload: '{"slug":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(JSON.parse(badJson.body).error.code).toBe('invalid_request');
    const badField = await w.call(w.admin, 'POST', '/api/v1/groups', { slug: 'Not A Slug' });
    expect(badField.status).toBe(400);
    expect(badField.body.error.details[0]).toMatchObject({ in: 'body', path: 'slug' });
    const unknownField = await w.call(w.admin, 'POST', '/api/v1/groups', { slug: 'ok', colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.message).toContain('colour');
    const badId = await w.call(w.admin, 'GET', '/api/v1/groups/123');
    expect(badId.status).toBe(400);
    const huge = await w.call(w.admin, 'POST', '/api/v1/stack-templates', {
      title: 't',
      content: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('too_large');
    expect(
      await w.store.templates.list({ id: w.admin.user.id, isAdmin: true, groupIds: [] }, { limit: 5 }),
    ).toMatchObject({ items: [] });
  });
});
