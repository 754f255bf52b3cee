/** The Atlas seed's concurrency control over HTTP, on both stores. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness } from '../testing/api.js';
import { STORE_KINDS } from '../testing/stores.js';

describe.each(STORE_KINDS)('ETag / If-Match on %s', (kind) => {
  const { harness, world } = apiHarness(kind);
  beforeAll(() => harness.setup());
  afterAll(() => harness.teardown());

  it('lets one of two writers with the same ETag win; the other gets 412, re-reads, and both changes survive', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    const made = await w.call(ada, 'POST', '/api/v1/stacks', { title: 'dev', config: { REGION: 'eu' } });
    const etag = made.headers.etag as string;
    expect(etag).toBe('"v1"');
    const [one, two] = await Promise.all([
      w.call(ada, 'PATCH', `/api/v1/stacks/${made.body.id}`, { title: 'renamed' }, { 'if-match': etag }),
      w.call(
        ada,
        'PATCH',
        `/api/v1/stacks/${made.body.id}`,
        { config: { REGION: 'eu', SIZE: 'large' } },
        { 'if-match': etag },
      ),
    ]);
    expect([one.status, two.status].sort()).toEqual([200, 412]);
    const loser = one.status === 412 ? one : two;
    expect(loser.body.error.code).toBe('precondition_failed');
    const current = await w.call(ada, 'GET', `/api/v1/stacks/${made.body.id}`);
    expect(current.headers.etag).toBe('"v2"');
    const retry =
      loser === one
        ? await w.call(
            ada,
            'PATCH',
            `/api/v1/stacks/${made.body.id}`,
            { title: 'renamed' },
            { 'if-match': current.headers.etag as string },
          )
        : await w.call(
            ada,
            'PATCH',
            `/api/v1/stacks/${made.body.id}`,
            { config: { REGION: 'eu', SIZE: 'large' } },
            { 'if-match': current.headers.etag as string },
          );
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({
      title: 'renamed',
      config: { REGION: 'eu', SIZE: 'large' },
      version: 3,
    });
    expect(retry.headers.etag).toBe('"v3"');
  });

  it('answers 428 without If-Match, 412 for a stale or foreign one, and accepts *', async () => {
    const w = await world();
    const ada = await w.newUser('ada');
    const made = await w.call(ada, 'POST', '/api/v1/stacks', { title: 'dev' });
    const url = `/api/v1/stacks/${made.body.id}`;
    const missing = await w.call(ada, 'PATCH', url, { title: 'x' });
    expect(missing.status).toBe(428);
    expect(missing.body.error.code).toBe('precondition_required');
    expect((await w.call(ada, 'DELETE', url)).status).toBe(428);
    expect((await w.call(ada, 'PATCH', url, { title: 'x' }, { 'if-match': '"v7"' })).status).toBe(412);
    expect((await w.call(ada, 'PATCH', url, { title: 'x' }, { 'if-match': 'abc' })).status).toBe(412);
    expect((await w.call(ada, 'GET', url)).body.title).toBe('dev');
    const star = await w.call(ada, 'PATCH', url, { title: 'y' }, { 'if-match': '*' });
    expect(star.status).toBe(200);
    expect(star.body.version).toBe(2);
  });
});
