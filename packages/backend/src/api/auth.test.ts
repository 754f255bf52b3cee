import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { apiHarness } from '../testing/api.js';
import { buildApi } from './server.js';

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

describe('repeated failed logins', () => {
  const me = (w: { app: import('fastify').FastifyInstance }, auth: string | undefined, from = '10.0.0.1') =>
    w.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      remoteAddress: from,
      headers: auth ? { authorization: auth } : {},
    });

  it('are refused per address with 429, Retry-After and the one error shape, before the token is checked', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    // Requests with no token are not guesses: they never count.
    for (let i = 0; i < 30; i++) expect((await me(w, undefined)).statusCode).toBe(401);
    for (let i = 0; i < 20; i++) expect((await me(w, `Bearer guess-${i}`)).statusCode).toBe(401);
    const refused = await me(w, 'Bearer guess-21');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(JSON.parse(refused.body)).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringContaining('try again'),
        details: { retryAfterSeconds: Number(refused.headers['retry-after']) },
      },
    });
    // Even a good token waits: the address is refused before any token is looked at.
    expect((await me(w, `Bearer ${ada.token}`)).statusCode).toBe(429);
    // Another address is not affected.
    expect((await me(w, `Bearer ${ada.token}`, '10.0.0.2')).statusCode).toBe(200);
    // The limit guards every authenticated route, Kloud's own included (they share defineRoute).
    const other = await w.app.inject({
      method: 'GET',
      url: '/api/v1/machines',
      remoteAddress: '10.0.0.1',
      headers: { authorization: `Bearer ${ada.token}` },
    });
    expect(other.statusCode).toBe(429);
    // Nothing about the guesses reaches the log.
    expect(w.logs.join('')).not.toContain('guess-');
  });

  it('remembers a bounded number of addresses, the most recent ones', async () => {
    const w = await world();
    const { app, registry } = buildApi({
      store: w.store,
      logger: pino({ level: 'silent' }),
      authThrottle: { maxTracked: 100, maxFailures: 2 },
    });
    try {
      for (let i = 0; i < 500; i++) await me({ app }, 'Bearer nonsense', `10.1.${i >> 8}.${i & 255}`);
      expect(registry.authThrottle.tracked).toBe(100);
      await me({ app }, 'Bearer nonsense', '10.1.1.243');
      expect((await me({ app }, 'Bearer nonsense', '10.1.1.243')).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});
