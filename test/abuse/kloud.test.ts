/**
 * Abuse of a real Kloud (`kloud serve`, its own process, a real local machine with its own
 * Klient): forged and tampered tokens at every door (REST bearer tokens, Kloud's RPC endpoint,
 * the registry, access tokens through the tunnel), a read-only share trying every writing method
 * through the tunnel, seeded JSON-RPC fuzzing of Kloud's RPC endpoint, oversized and slow-drip
 * WebSocket frames, upgrades sent half-way and left hanging, repeated bad logins, and a scan of
 * every log and refusal for the secrets planted in the test.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { catalogue, type MethodName, RpcError } from '@kk/protocol';
import { connect, issueAccessToken, KeySet } from '@kk/protocol/node.js';
import { upgradeStatus } from '@kk/protocol/testing/raw.js';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadOrCreateKeySet } from '../../packages/kloud/src/keys/keystore.js';
import { apiClient, killEverythingIn, spawnKloud, tempDataDir, waitFor } from '../e2e/harness.js';
import { freePort } from '../support/free-port.js';
import { paramsFuzzer } from '../support/fuzz-params.js';

// biome-ignore lint/suspicious/noExplicitAny: REST answers of every shape
type Json = any;

const SECRET = `aws-secret-${Math.random().toString(36).slice(2)}-planted`;
const klientMethods = (Object.keys(catalogue) as MethodName[]).filter((m) =>
  ['klient.', 'fs.', 'exec.', 'terminal.'].some((p) => m.startsWith(p)),
);

const dir = tempDataDir();
let kloud: Awaited<ReturnType<typeof spawnKloud>>;
let log = '';
let url: string;
let adminToken: string;
let api: ReturnType<typeof apiClient>;
let machineId: string;
let kiteId: string;
let kiteKey: string;
let home: string;
let bob: { id: string; token: string };
let carol: { id: string; token: string };
let keys: KeySet;
/** Every answer a caller got that did not hand out a secret on purpose. */
const answers: string[] = [];
/** Upgrades sent half-way at the start; each resolves with what Kloud answered when it hung up. */
let stalled: Array<Promise<string>> = [];

function wsUrl(path: string): string {
  return `${url.replace(/^http/, 'ws')}${path}`;
}

/** A raw WebSocket upgrade to Kloud; refusal bodies are kept for the secrets scan. */
async function upgrade(path: string, headers: Record<string, string>, localAddress?: string) {
  const answer = await upgradeStatus(new URL(path, url).toString(), headers, { localAddress });
  if (answer.status !== 101) answers.push(answer.body);
  return answer;
}

/** A REST call from a chosen loopback address (127.0.0.x are all this host). */
function rest(method: string, path: string, token: string | undefined, localAddress = '127.0.0.1') {
  return new Promise<{ status: number; body: Json; retryAfter?: string }>((resolve, reject) => {
    const req = request(new URL(path, url), {
      method,
      localAddress,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        answers.push(text);
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(text),
          retryAfter: res.headers['retry-after'],
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends the first lines of an upgrade request and nothing more. */
function halfUpgrade(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = netConnect(Number(new URL(url).port), '127.0.0.1');
    let answer = '';
    socket.on('connect', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: kloud\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`),
    );
    socket.on('data', (d) => (answer += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

async function user(username: string) {
  const made = await api('POST', '/api/v1/users', { username });
  const token = await api('POST', '/api/v1/tokens', { name: 't', userId: made.body.id });
  return { id: made.body.id as string, token: token.body.token as string };
}

beforeAll(async () => {
  kloud = await spawnKloud(dir, await freePort(), ['--log-level', 'debug', '--heartbeat-ms', '1000']);
  kloud.child.stderr!.on('data', (d) => (log += d));
  url = kloud.url;
  adminToken = (kloud as { token?: string }).token!;
  api = apiClient(() => url, adminToken);
  stalled = [halfUpgrade('/api/v1/rpc'), halfUpgrade('/machines/x/klient'), halfUpgrade('/klient/register')];
  ({ keys } = await loadOrCreateKeySet(dir));

  const cred = await api('POST', '/api/v1/credentials', {
    provider: 'aws',
    title: 'planted',
    data: { accessKeyId: 'AKIDPLANTED', secretAccessKey: SECRET, region: 'us-east-1' },
  });
  expect(cred.status).toBe(201);
  const tpl = await api('POST', '/api/v1/stack-templates', {
    title: 'abuse',
    content: 'machines:\n  box:\n    provider: local\n',
  });
  const stack = await api('POST', '/api/v1/stacks', { title: 'abuse', templateId: tpl.body.id });
  const applied = await api('POST', `/api/v1/stacks/${stack.body.id}/apply`, {});
  expect(applied.status).toBe(202);
  const machine = await waitFor('the machine to be Running', async () => {
    const described = (await api('GET', `/api/v1/stacks/${stack.body.id}/describe`)).body;
    const m = described.machines?.[0];
    if (m?.state === 'NotInitialized' && m.stateReason) throw new Error(`build failed: ${m.stateReason}`);
    return m?.state === 'Running' && m.online ? m : undefined;
  });
  machineId = machine.id;
  const record = (await api('GET', `/api/v1/machines/${machineId}`)).body;
  kiteId = record.kiteId;
  const machineDir = join(dir, 'machines', readdirSync(join(dir, 'machines'))[0]!);
  kiteKey = readFileSync(join(machineDir, 'etc', 'kite.key'), 'utf8').trim();
  home = join(machineDir, 'home');
  bob = await user('bob');
  carol = await user('carol');
  const share = await api('PUT', `/api/v1/machines/${machineId}/users/${bob.id}`, {
    readonly: true,
    permanent: true,
  });
  expect(share.status).toBe(200);
}, 120_000);

afterAll(async () => {
  kloud?.child.kill('SIGKILL');
  await killEverythingIn(dir);
});

describe('REST bearer tokens', () => {
  it('refuses forged, tampered, revoked and foreign tokens with 401 and the one error shape', async () => {
    const [, id, secret] = /^kk_([^_]+)_(.+)$/.exec(adminToken)!;
    const revoked = await api('POST', '/api/v1/tokens', { name: 'gone' });
    await api('DELETE', `/api/v1/tokens/${revoked.body.apiToken.id}`);
    const access = (await api('POST', `/api/v1/machines/${machineId}/token`, {})).body.token;
    const cases: Array<[string, string]> = [
      ['garbage', 'garbage'],
      ['right id, forged secret', `kk_${id}_${'A'.repeat(secret!.length)}`],
      ['last character changed', `${adminToken.slice(0, -1)}${adminToken.endsWith('A') ? 'B' : 'A'}`],
      ['secret with another id', `kk_${'0'.repeat(id!.length)}_${secret}`],
      ['revoked', revoked.body.token],
      ['a Kloud access token', access],
      ['a kite.key', kiteKey],
    ];
    for (const [name, token] of cases) {
      const answer = await rest('GET', '/api/v1/users/me', token);
      expect(answer.status, name).toBe(401);
      expect(answer.body.error.code, name).toBe('unauthenticated');
      const build = await rest('POST', `/api/v1/machines/${machineId}/stop`, token);
      expect(build.status, name).toBe(401);
    }
    expect((await rest('GET', `/api/v1/machines/${machineId}/state`, adminToken)).body.state).toBe('Running');
  });

  it('throttles repeated bad logins per address at REST, RPC, the tunnel and its data door: 429 with Retry-After, others unaffected', async () => {
    const from = '127.0.0.2';
    for (let i = 0; i < 20; i++)
      expect((await rest('GET', '/api/v1/users/me', `kk_guess_${i}`, from)).status).toBe(401);
    const refused = await rest('GET', '/api/v1/users/me', 'kk_guess_21', from);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect((await rest('GET', '/api/v1/users/me', adminToken, from)).status).toBe(429);
    expect((await rest('GET', '/api/v1/users/me', adminToken)).status).toBe(200);
    // Kloud's RPC endpoint applies the same rule at the WebSocket upgrade.
    const rpcFrom = '127.0.0.3';
    for (let i = 0; i < 20; i++)
      expect((await upgrade('/api/v1/rpc', { authorization: `Bearer kk_guess_${i}` }, rpcFrom)).status).toBe(
        401,
      );
    const rpcRefused = await upgrade('/api/v1/rpc', { authorization: 'Bearer kk_guess' }, rpcFrom);
    expect(rpcRefused.status).toBe(429);
    expect(Number(rpcRefused.retryAfter)).toBeGreaterThan(0);
    // And so does the tunnel, for access tokens.
    const tunnelFrom = '127.0.0.4';
    const door = `/machines/${machineId}/klient`;
    for (let i = 0; i < 20; i++)
      expect((await upgrade(door, { authorization: `Bearer guess.${i}.x` }, tunnelFrom)).status).toBe(401);
    const tunnelRefused = await upgrade(door, { authorization: 'Bearer guess.x.x' }, tunnelFrom);
    expect(tunnelRefused.status).toBe(429);
    expect(Number(tunnelRefused.retryAfter)).toBeGreaterThan(0);
    const good = (await api('POST', `/api/v1/machines/${machineId}/token`, {})).body.token as string;
    expect((await upgrade(door, { authorization: `Bearer ${good}` }, tunnelFrom)).status).toBe(429);
    expect((await upgrade(door, { authorization: `Bearer ${good}` })).status).toBe(101);
    // And the tunnel's data door, for kite.keys (whatever channel they name).
    const dataFrom = '127.0.0.5';
    const dataDoor = `/tunnel/${randomUUID()}`;
    const asKlient = (key: string) => ({ upgrade: 'kloud-tunnel', authorization: `Bearer ${key}` });
    for (let i = 0; i < 20; i++)
      expect((await upgrade(dataDoor, asKlient(`guess.${i}.x`), dataFrom)).status).toBe(401);
    const dataRefused = await upgrade(dataDoor, asKlient('guess.x.x'), dataFrom);
    expect(dataRefused.status).toBe(429);
    expect(Number(dataRefused.retryAfter)).toBeGreaterThan(0);
    expect((await upgrade(dataDoor, asKlient(kiteKey), dataFrom)).status).toBe(429);
    // From elsewhere the good kite.key passes the key check (the channel does not exist: 404),
    // and the machine's own data connections are unaffected.
    expect((await upgrade(dataDoor, asKlient(kiteKey))).status).toBe(404);
    const client = connect(wsUrl(door), good, { reconnect: false });
    try {
      expect((await client.call('klient.ping', {})).pong).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe('tokens at the WebSocket doors', () => {
  it('refuses every forged and tampered access token at the tunnel, before any byte reaches the Klient', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: url, sub: bob.id, aud: kiteId, scope: 'owner', iat: now, exp: now + 600 };
    const { kid, key } = await keys.signingKey();
    const stranger = await KeySet.generate();
    const sign = (c: Record<string, unknown>, k = key, header: Record<string, unknown> = {}) =>
      new SignJWT(c).setProtectedHeader({ alg: 'EdDSA', kid, ...header }).sign(k);
    const readonly = (await api('POST', `/api/v1/machines/${machineId}/token`, {}, bob.token)).body
      .token as string;
    const [h, p, s] = readonly.split('.');
    const promoted = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'owner' }),
    ).toString('base64url');
    const cases: Array<[string, string | undefined, number]> = [
      ['missing', undefined, 401],
      ['garbage', 'garbage', 401],
      ['alg none', new UnsecuredJWT(claims).encode(), 401],
      [
        'HMAC',
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid })
          .sign(new TextEncoder().encode('x'.repeat(32))),
        401,
      ],
      ['unknown kid', await sign(claims, (await stranger.signingKey()).key, { kid: 'nope' }), 401],
      ['another key under our kid', await sign(claims, (await stranger.signingKey()).key), 401],
      ['readonly promoted to owner', `${h}.${promoted}.${s}`, 401],
      ['expired', await sign({ ...claims, iat: now - 1000, exp: now - 100 }), 401],
      ['not yet valid', await sign({ ...claims, nbf: now + 600 }), 401],
      ['another machine', await sign({ ...claims, aud: 'kite-other' }), 401],
      ['another issuer', await sign({ ...claims, iss: 'http://evil.test' }), 401],
      ['an API token', adminToken, 401],
      ['the kite.key', kiteKey, 401],
      // Signed right, but carol has no access to the machine: Kloud checks access now, not only the token.
      ['a valid token for a user with no access', await sign({ ...claims, sub: carol.id }), 403],
    ];
    for (const [name, bad, status] of cases) {
      const answer = await upgrade(
        `/machines/${machineId}/klient`,
        bad ? { authorization: `Bearer ${bad}` } : {},
      );
      expect(answer.status, name).toBe(status);
    }
    // The genuine read-only token still works, and still only reads.
    const client = connect(wsUrl(`/machines/${machineId}/klient`), readonly, { reconnect: false });
    expect((await client.call('klient.ping', {})).pong).toBe(true);
    client.close();
  });

  it('refuses forged kite.keys at the registry and bad API tokens at the RPC endpoint', async () => {
    const stranger = await KeySet.generate();
    const foreignKey = (
      await issueAccessToken(stranger, {
        issuer: url,
        user: 'x',
        kiteId,
        scope: 'owner',
        expiresInSeconds: 60,
      })
    ).token;
    const access = (await api('POST', `/api/v1/machines/${machineId}/token`, {})).body.token as string;
    const [h, p, s] = kiteKey.split('.');
    const otherKite = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), jti: 'kite-someone-else' }),
    ).toString('base64url');
    for (const [name, bad] of [
      ['garbage', 'garbage'],
      ['signed by a stranger', foreignKey],
      ['an access token', access],
      ['kite id swapped', `${h}.${otherKite}.${s}`],
      ['an API token', adminToken],
    ] as const) {
      expect((await upgrade('/klient/register', { authorization: `Bearer ${bad}` })).status, name).toBe(401);
    }
    for (const [name, bad] of [
      ['an access token', access],
      ['the kite.key', kiteKey],
    ] as const) {
      expect((await upgrade('/api/v1/rpc', { authorization: `Bearer ${bad}` })).status, name).toBe(401);
    }
    // The real Klient's link is untouched by all this.
    expect((await api('GET', `/api/v1/machines/${machineId}/state`)).body.online).toBe(true);
  });
});

describe('a read-only share', () => {
  it('is refused every writing Klient method through the tunnel, and every writing lifecycle call', async () => {
    const writing = klientMethods.filter((m) => catalogue[m].access !== 'read');
    expect(writing.length).toBeGreaterThan(10);
    const before = readdirSync(home).sort();
    const grant = (await api('POST', `/api/v1/machines/${machineId}/token`, {}, bob.token)).body;
    expect(grant.scope).toBe('readonly');
    const client = connect(grant.url, grant.token, { reconnect: false });
    try {
      for (const method of writing) {
        const params = {
          path: 'pwned.txt',
          content: 'x',
          command: 'touch pwned',
          argv: ['touch', 'pwned'],
          id: 'x',
          sessionId: 'x',
        };
        const error = await client.call(method, params as never).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, method).toBeInstanceOf(RpcError);
        expect((error as RpcError).code, method).toBe(4003);
      }
      expect((await client.call('klient.ping', {})).pong).toBe(true);
    } finally {
      client.close();
    }
    expect(readdirSync(home).sort()).toEqual(before);
    for (const action of ['build', 'start', 'stop', 'restart', 'destroy'])
      expect((await rest('POST', `/api/v1/machines/${machineId}/${action}`, bob.token)).status, action).toBe(
        403,
      );
    const wider = await api('POST', `/api/v1/machines/${machineId}/token`, { scope: 'owner' }, bob.token);
    expect(wider.status).toBe(403);
    answers.push(JSON.stringify(wider.body));
    expect((await api('GET', `/api/v1/machines/${machineId}/state`)).body.state).toBe('Running');
  });
});

describe("Kloud's RPC endpoint", () => {
  it('answers 1,500 seeded schema-shaped calls with a result or a clear error, never an internal one', {
    timeout: 120_000,
  }, async () => {
    // A stack and machine of its own, so the fuzz can reach real records without touching the others.
    const tpl = await api('POST', '/api/v1/stack-templates', {
      title: 'fuzz',
      content: 'machines:\n  f:\n    provider: local\n',
    });
    const stack = await api('POST', '/api/v1/stacks', { title: 'fuzz', templateId: tpl.body.id });
    const fuzz = paramsFuzzer(777, [
      '',
      'x',
      'é',
      '\u0000',
      'x'.repeat(300),
      stack.body.id,
      tpl.body.id,
      'NotInitialized',
      'Running',
    ]);
    const methods = (Object.keys(catalogue) as MethodName[]).filter(
      (m) => m.startsWith('kloud.') || m.startsWith('rpc.'),
    );
    const rpc = connect(wsUrl('/api/v1/rpc'), adminToken, { reconnect: false });
    const internal: string[] = [];
    const outcomes = new Map<string, number>();
    try {
      for (let i = 0; i < 1500; i++) {
        const method = fuzz.pick(methods);
        const params = fuzz.params(method);
        try {
          await rpc.call(method, params as never, { timeoutMs: 30_000 });
          outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
        } catch (error) {
          if (!(error instanceof RpcError)) throw error;
          answers.push(error.message);
          outcomes.set(String(error.code), (outcomes.get(String(error.code)) ?? 0) + 1);
          if (error.code === -32603) internal.push(`${method} ${JSON.stringify(params)}: ${error.message}`);
        }
      }
      expect(internal).toEqual([]);
      // The fuzz reached the services, not only the schema checks.
      expect((outcomes.get('ok') ?? 0) + (outcomes.get('4004') ?? 0)).toBeGreaterThan(100);
      expect((await rpc.call('rpc.ping', {})).pong).toBe(true);
    } finally {
      rpc.close();
    }
  });

  it('closes a connection that sends an oversized frame with 1009, and keeps serving', async () => {
    const ws = new WebSocket(wsUrl('/api/v1/rpc'), { headers: { authorization: `Bearer ${adminToken}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('x'.repeat(17 * 1024 * 1024));
    expect(await closed).toBe(1009);
    const rpc = connect(wsUrl('/api/v1/rpc'), adminToken, { reconnect: false });
    expect((await rpc.call('rpc.ping', {})).pong).toBe(true);
    rpc.close();
  });

  it('drops a connection that drips a frame a byte at a time (it cannot answer pings in between)', async () => {
    const socket = netConnect(Number(new URL(url).port), '127.0.0.1');
    let drip: ReturnType<typeof setInterval> | undefined;
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    let handshake = '';
    socket.on('data', (d) => {
      if (handshake.includes('\r\n\r\n')) return;
      handshake += d;
      if (!handshake.includes('\r\n\r\n')) return;
      // A masked text frame announcing 64 KiB, then its bytes one at a time.
      socket.write(Buffer.from([0x81, 0xfe, 0x00, 0x01, 1, 2, 3, 4]));
      drip = setInterval(() => socket.write(Buffer.from([0x41])), 50);
    });
    socket.on('connect', () =>
      socket.write(
        `GET /api/v1/rpc HTTP/1.1\r\nHost: kloud\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
          `Authorization: Bearer ${adminToken}\r\n\r\n`,
      ),
    );
    await closed;
    clearInterval(drip);
    expect(handshake).toMatch(/^HTTP\/1.1 101/);
  });
});

describe('upgrades sent half-way and left hanging', () => {
  it('are answered 408 and closed by Kloud, not held forever', async () => {
    for (const answer of await Promise.all(stalled)) expect(answer).toMatch(/^HTTP\/1.1 408/);
  });
});

describe('secrets', () => {
  it('never appear in Kloud’s log, a Klient’s log, or any refusal', async () => {
    const owner = await api('POST', `/api/v1/machines/${machineId}/token`, {});
    const reader = await api('POST', `/api/v1/machines/${machineId}/token`, {}, bob.token);
    // The credential's secret reaches nobody but its owner, masked in listings.
    const listed = await api('GET', '/api/v1/credentials');
    answers.push(JSON.stringify(listed.body));
    expect((await api('GET', '/api/v1/credentials', undefined, bob.token)).body.items ?? []).toEqual([]);
    // A debug-level line after everything above proves the earlier ones are written out.
    await api('GET', `/api/v1/machines/${machineId}/state`);
    let klientLog = '';
    for (const name of readdirSync(join(dir, 'machines'))) {
      for (const file of ['etc/klient.log', 'install.log']) {
        try {
          klientLog += readFileSync(join(dir, 'machines', name, file), 'utf8');
        } catch {}
      }
    }
    // Requests and links are logged (debug level), so the scan has something to read.
    expect(log).toContain('"msg":"incoming request"');
    expect(log).toContain('"msg":"klient connected"');
    const secrets: Array<[string, string]> = [
      ['credential secret', SECRET],
      ['admin API token', adminToken],
      ['admin API token secret', adminToken.split('_').at(-1)!],
      ["bob's API token", bob.token],
      ['kite.key', kiteKey],
      ['kite.key signature', kiteKey.split('.')[2]!],
      ['owner access token', owner.body.token],
      ['owner access token signature', owner.body.token.split('.')[2]],
      ['read-only access token', reader.body.token],
    ];
    for (const [name, secret] of secrets) {
      expect(log.includes(secret), `${name} in Kloud's log`).toBe(false);
      expect(klientLog.includes(secret), `${name} in a Klient's log`).toBe(false);
      expect(
        answers.some((a) => a.includes(secret)),
        `${name} in an answer`,
      ).toBe(false);
    }
  });
});
