/** The API over a real loopback socket, as Kloud serves it. */
import { afterAll, describe, expect, it } from 'vitest';
import { apiHarness } from '../testing/api.js';

const { harness, world } = apiHarness();
afterAll(() => harness.teardown());

describe('the API on a socket', () => {
  it('serves probes, authenticates bearer tokens and enforces If-Match over HTTP', async () => {
    const w = await world();
    const address = await w.app.listen({ host: '127.0.0.1', port: 0 });
    const auth = { authorization: `Bearer ${w.admin.token}` };
    expect(await (await fetch(`${address}/healthz`)).json()).toEqual({ status: 'ok' });
    const anonymous = await fetch(`${address}/api/v1/users/me`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const made = await fetch(`${address}/api/v1/groups`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'ops' }),
    });
    expect(made.status).toBe(201);
    const group = (await made.json()) as { id: string };
    const patch = (headers: Record<string, string>) =>
      fetch(`${address}/api/v1/groups/${group.id}`, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ title: 'Operations' }),
      });
    expect((await patch({})).status).toBe(428);
    const ok = await patch({ 'if-match': made.headers.get('etag')! });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"v2"');
    expect((await patch({ 'if-match': made.headers.get('etag')! })).status).toBe(412);
  });
});
