/** The API over a real loopback socket, as Kloud serves it. */
import { connect } from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { apiHarness } from '../testing/api.js';
import { buildApi } from './server.js';

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

describe('clients that stall in the middle of a request', () => {
  it('are cut off once the headers take longer than the limit, whether silent or dripping', async () => {
    const w = await world();
    const { app } = buildApi({ store: w.store, logger: pino({ level: 'silent' }), headersTimeoutMs: 500 });
    const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    try {
      const stall = (drip: boolean) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(Number(address.port), '127.0.0.1');
          let answer = '';
          let timer: ReturnType<typeof setInterval> | undefined;
          socket.on('connect', () => {
            // Half a WebSocket upgrade: no blank line ends the headers.
            socket.write('GET /api/v1/rpc HTTP/1.1\r\nHost: kloud\r\nUpgrade: websocket\r\n');
            if (drip) timer = setInterval(() => socket.write('X-Drip: 1\r\n'), 100);
          });
          socket.on('data', (d) => (answer += d));
          socket.on('error', reject);
          socket.on('close', () => {
            clearInterval(timer);
            resolve(answer);
          });
        });
      const [silent, dripping] = await Promise.all([stall(false), stall(true)]);
      expect(silent).toMatch(/^HTTP\/1.1 408/);
      expect(dripping).toMatch(/^HTTP\/1.1 408/);
      // The server still serves everyone else.
      expect((await fetch(new URL('/healthz', address))).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
