import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMethod, type MethodSpec } from './catalogue/define.js';
import { AppCode, ErrorCode, errors, RpcError } from './errors.js';
import type { RpcServer } from './node/server.js';
import type { CallContext, HandlerMap } from './peer.js';
import {
  anyCall,
  clientTo,
  rejection,
  specCatalogue,
  specHandlers,
  testKeys,
  tokenFor,
  tokenServer,
} from './testing/harness.js';
import { RawSocket } from './testing/raw.js';
import type { KeySet } from './tokens/keyset.js';

const testCatalogue: Record<string, MethodSpec> = {
  ...specCatalogue,
  'test.echo': defineMethod({
    summary: 'echo',
    access: 'read',
    params: z.object({ text: z.string(), count: z.number().int().min(1).optional() }).strict(),
    result: z.object({ text: z.string() }),
  }),
  'test.write': defineMethod({
    summary: 'a writing method',
    access: 'write',
    params: z.object({}),
    result: z.null(),
  }),
  'test.throw': defineMethod({
    summary: 'throws the named error',
    access: 'read',
    params: z.object({ code: z.string() }),
    result: z.null(),
  }),
  'test.slow': defineMethod({
    summary: 'waits to be released',
    access: 'read',
    params: z.object({}),
    result: z.null(),
  }),
};

let keys: KeySet;
let server: RpcServer | undefined;
const release: Array<() => void> = [];

beforeAll(async () => {
  keys = await testKeys();
});

afterEach(async () => {
  for (const r of release.splice(0)) r();
  await server?.close();
  server = undefined;
});

const handlers = {
  ...specHandlers,
  'test.echo': (p: { text: string; count?: number }) => ({ text: p.text.repeat(p.count ?? 1) }),
  'test.write': () => null,
  'test.throw': (p: { code: string }) => {
    if (p.code === 'plain') throw new Error('secret /etc/shadow stack detail');
    const make = (errors as Record<string, (m: string) => RpcError>)[p.code];
    throw make ? make(`thrown ${p.code}`) : new Error('unknown');
  },
  'test.slow': () => new Promise<null>((resolve) => release.push(() => resolve(null))),
} as unknown as HandlerMap;

async function start(extra: Partial<Parameters<typeof tokenServer>[1]> = {}) {
  server = await tokenServer(keys, { methods: handlers, catalogue: testCatalogue, ...extra });
  return server;
}

describe('requests and answers', () => {
  it('answers a call with its result, typed through the client', async () => {
    const s = await start();
    const client = clientTo(s.url, await tokenFor(keys));
    expect(await client.call('rpc.ping', {})).toEqual({ pong: true });
    const echoed = await anyCall(client)('test.echo', { text: 'ab', count: 2 });
    expect(echoed).toEqual({ text: 'abab' });
    client.close();
  });

  it('answers invalid params with -32602 naming the bad field, and runs nothing', async () => {
    const s = await start();
    const raw = new RawSocket(s.url, await tokenFor(keys));
    const answer = (await raw.exchange(
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'test.echo', params: { text: 5 } }),
    )) as { error: { code: number; message: string; data: { issues: Array<{ path: string }> } } };
    expect(answer.error.code).toBe(ErrorCode.InvalidParams);
    expect(answer.error.message).toContain('text');
    expect(answer.error.data.issues[0]!.path).toBe('text');
    const extra = (await raw.exchange(
      JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'test.echo', params: { text: 'a', bogus: 1 } }),
    )) as { error: { code: number; message: string } };
    expect(extra.error.code).toBe(ErrorCode.InvalidParams);
    raw.close();
  });

  it('answers each standard error code', async () => {
    const s = await start();
    const raw = new RawSocket(s.url, await tokenFor(keys));
    expect(await raw.exchange('{"jsonrpc": "2.0", "method": "foobar", "params": "bar", "baz]')).toMatchObject(
      {
        id: null,
        error: { code: ErrorCode.ParseError },
      },
    );
    expect(await raw.exchange('{"jsonrpc": "2.0", "method": 1, "params": "bar"}')).toMatchObject({
      id: null,
      error: { code: ErrorCode.InvalidRequest },
    });
    expect(await raw.exchange('{"jsonrpc": "2.0", "method": "nope", "id": "1"}')).toMatchObject({
      id: '1',
      error: { code: ErrorCode.MethodNotFound },
    });
    const internal = (await raw.exchange(
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'test.throw', params: { code: 'plain' } }),
    )) as { error: { code: number; message: string } };
    expect(internal.error.code).toBe(ErrorCode.InternalError);
    expect(JSON.stringify(internal)).not.toContain('shadow');
    raw.close();
  });

  it('logs an unexpected handler failure under the method name, never on the wire', async () => {
    const logged: Array<[string, unknown]> = [];
    const s = await start({ onInternalError: (method, error) => logged.push([method, error]) });
    const client = clientTo(s.url, await tokenFor(keys));
    const error = await rejection(anyCall(client)('test.throw', { code: 'plain' }));
    expect(error.message).not.toContain('shadow');
    expect(logged).toHaveLength(1);
    expect(logged[0]![0]).toBe('test.throw');
    expect((logged[0]![1] as Error).message).toContain('shadow');
    client.close();
  });

  it('passes every application error code through with its message', async () => {
    const s = await start();
    const client = clientTo(s.url, await tokenFor(keys));
    const call = anyCall(client);
    const cases: Array<[string, number]> = [
      ['notFound', AppCode.NotFound],
      ['forbidden', AppCode.Forbidden],
      ['conflict', AppCode.Conflict],
      ['invalidState', AppCode.InvalidState],
      ['tooLarge', AppCode.TooLarge],
      ['rateLimited', AppCode.RateLimited],
      ['timeout', AppCode.Timeout],
      ['unauthenticated', AppCode.Unauthenticated],
      ['unavailable', AppCode.Unavailable],
    ];
    for (const [name, code] of cases) {
      const error = await rejection(call('test.throw', { code: name }));
      expect(error.code).toBe(code);
      expect(error.message).toBe(`thrown ${name}`);
    }
    client.close();
  });

  it('refuses a writing method to a readonly token before the handler runs', async () => {
    const s = await start();
    const client = clientTo(s.url, await tokenFor(keys, 'readonly'));
    const error = await rejection(anyCall(client)('test.write', {}));
    expect(error.code).toBe(AppCode.Forbidden);
    expect(error.message).toContain('readonly');
    client.close();
  });

  it('runs notifications without answering them', async () => {
    let seen = 0;
    const s = await start({
      methods: {
        ...handlers,
        notify_hello: () => {
          seen++;
          return null;
        },
      } as unknown as HandlerMap,
    });
    const raw = new RawSocket(s.url, await tokenFor(keys));
    raw.send(JSON.stringify({ jsonrpc: '2.0', method: 'notify_hello', params: [7] }));
    // The next answer must belong to the ping, not to the notification.
    expect(await raw.exchange(JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'rpc.ping' }))).toMatchObject(
      { id: 'p' },
    );
    expect(seen).toBe(1);
    raw.close();
  });

  it('limits calls in flight per connection', async () => {
    const s = await start({ limits: { maxInFlight: 2 } });
    const client = clientTo(s.url, await tokenFor(keys));
    const call = anyCall(client);
    const first = call('test.slow', {});
    const second = call('test.slow', {});
    await expect.poll(() => release.length).toBe(2);
    const third = await rejection(call('test.slow', {}));
    expect(third.code).toBe(AppCode.RateLimited);
    for (const r of release.splice(0)) r();
    await Promise.all([first, second]);
    client.close();
  });

  it('times a call out on the client side', async () => {
    const s = await start();
    const client = clientTo(s.url, await tokenFor(keys));
    const error = await rejection(anyCall(client)('test.slow', {}, { timeoutMs: 100 }));
    expect(error.code).toBe(AppCode.Timeout);
    client.close();
  });
});

describe('batches', () => {
  it('answers a batch with an array in which each answer carries its id', async () => {
    const s = await start();
    const raw = new RawSocket(s.url, await tokenFor(keys));
    const answer = (await raw.exchange(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'sum', params: [1, 2, 4], id: '1' },
        { jsonrpc: '2.0', method: 'notify_hello', params: [7] },
        { jsonrpc: '2.0', method: 'subtract', params: [42, 23], id: '2' },
        { foo: 'boo' },
        { jsonrpc: '2.0', method: 'foo.get', params: { name: 'myself' }, id: '5' },
        { jsonrpc: '2.0', method: 'get_data', id: '9' },
      ]),
    )) as Array<{ id: unknown }>;
    expect(answer).toEqual(
      expect.arrayContaining([
        { jsonrpc: '2.0', result: 7, id: '1' },
        { jsonrpc: '2.0', result: 19, id: '2' },
        expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
        expect.objectContaining({ id: '5', error: expect.objectContaining({ code: -32601 }) }),
        { jsonrpc: '2.0', result: ['hello', 5], id: '9' },
      ]),
    );
    expect(answer).toHaveLength(5);
    raw.close();
  });

  it('answers a one-element batch with an array, an empty batch with one error, junk with one error each', async () => {
    const s = await start();
    const raw = new RawSocket(s.url, await tokenFor(keys));
    expect(
      await raw.exchange(JSON.stringify([{ jsonrpc: '2.0', method: 'sum', params: [1], id: 1 }])),
    ).toEqual([{ jsonrpc: '2.0', id: 1, result: 1 }]);
    expect(await raw.exchange('[]')).toMatchObject({ id: null, error: { code: -32600 } });
    const junk = (await raw.exchange('[1,2,3]')) as unknown[];
    expect(junk).toHaveLength(3);
    for (const item of junk) expect(item).toMatchObject({ id: null, error: { code: -32600 } });
    raw.close();
  });

  it('sends nothing back for a batch of notifications', async () => {
    const s = await start();
    const raw = new RawSocket(s.url, await tokenFor(keys));
    raw.send(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'notify_sum', params: [1, 2, 4] },
        { jsonrpc: '2.0', method: 'notify_hello', params: [7] },
      ]),
    );
    expect(
      await raw.exchange(JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'rpc.ping' })),
    ).toMatchObject({
      id: 'after',
    });
    raw.close();
  });
});

describe('limits', () => {
  it('closes the connection with 1009 and a reason naming the limit on an oversized frame', async () => {
    const s = await start({ limits: { maxFrameBytes: 64 * 1024 } });
    const raw = new RawSocket(s.url, await tokenFor(keys));
    await raw.opened;
    raw.send('x'.repeat(65 * 1024));
    const closed = await raw.closed;
    expect(closed.code).toBe(1009);
    expect(closed.reason).toContain('65536');
  });

  it('drops a peer that stops answering pings', async () => {
    const s = await start({ limits: { heartbeatMs: 50 } });
    const raw = new RawSocket(s.url, await tokenFor(keys), { autoPong: false });
    const closed = await raw.closed;
    expect(closed.code).toBe(1006);
    await expect.poll(() => s.endpoint.peers.size).toBe(0);
  });
});

describe('the peer serves the other side too', () => {
  it('lets the server call a method the client serves', async () => {
    let serverSide: CallContext['peer'] | undefined;
    const s = await start({
      onConnection: (peer) => {
        serverSide = peer;
      },
    });
    const client = clientTo(s.url, await tokenFor(keys), {
      methods: { 'rpc.ping': () => ({ pong: true as const }) },
      remotePrincipal: { sub: 'kloud', scope: 'owner' },
    });
    await client.waitOpen();
    await expect.poll(() => serverSide).toBeDefined();
    expect(await serverSide!.call('rpc.ping', {})).toEqual({ pong: true });
    client.close();
  });
});

describe('errors module', () => {
  it('keeps data out of the wire form when there is none', () => {
    expect(new RpcError(4004, 'x').toJSON()).toEqual({ code: 4004, message: 'x' });
  });
});
