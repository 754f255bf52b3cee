import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from './frames.js';
import type { RpcServer } from './node/server.js';
import { testKeys, tokenFor, tokenServer } from './testing/harness.js';
import { RawSocket } from './testing/raw.js';
import type { KeySet } from './tokens/keyset.js';

/** A small deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const atoms = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  '',
  'x',
  '2.0',
  [],
  {},
  'rpc.ping',
  'stream.data',
  'stream.end',
  'stream.cancel',
  '__proto__',
  'constructor',
  'fs.readFile',
];

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * 6);
  if (depth > 3 || pick < 2) return atoms[Math.floor(r() * atoms.length)];
  if (pick === 2) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const keys = [
    'jsonrpc',
    'id',
    'method',
    'params',
    'result',
    'error',
    'code',
    'message',
    'data',
    '__proto__',
  ];
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--)
    obj[keys[Math.floor(r() * keys.length)]!] = randomValue(r, depth + 1);
  return obj;
}

function malformed(r: () => number): string | Buffer {
  switch (Math.floor(r() * 6)) {
    case 0: // truncated or corrupted JSON
      return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.ping' }).slice(0, Math.floor(r() * 30));
    case 1: // random structure, almost-valid requests and responses included
      return JSON.stringify(randomValue(r));
    case 2: // a request shell around random members
      return JSON.stringify({
        jsonrpc: '2.0',
        id: randomValue(r),
        method: randomValue(r),
        params: randomValue(r),
      });
    case 3: // batches of junk
      return JSON.stringify(Array.from({ length: 1 + Math.floor(r() * 5) }, () => randomValue(r)));
    case 4: // binary frames with random headers and stream ids
      return Buffer.from(
        encodeFrame(Math.floor(r() * 2 ** 32), Math.floor(r() * 100), new Uint8Array(Math.floor(r() * 64))),
      );
    default: // random bytes as a binary frame
      return Buffer.from(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)));
  }
}

let keys: KeySet;
let server: RpcServer;
beforeAll(async () => {
  keys = await testKeys();
  server = await tokenServer(keys, { methods: {} });
});
afterAll(async () => server.close());

describe('malformed input', () => {
  it('survives 10,000 random malformed frames without crashing or growing per-connection state', async () => {
    const r = rng(20261122);
    const raw = new RawSocket(server.url, await tokenFor(keys));
    await raw.opened;
    const upgradeListeners = server.http.listenerCount('upgrade');
    const processListeners =
      process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');
    for (let i = 0; i < 10_000; i++) {
      raw.send(malformed(r));
      // Let answers flow now and then so neither side queues everything at once.
      if (i % 500 === 499) {
        expect(
          await raw.exchangeUntil(
            JSON.stringify({ jsonrpc: '2.0', id: `probe-${i}`, method: 'rpc.ping' }),
            `probe-${i}`,
          ),
        ).toMatchObject({
          result: { pong: true },
        });
      }
    }
    const final = await raw.exchangeUntil(
      JSON.stringify({ jsonrpc: '2.0', id: 'final', method: 'rpc.ping' }),
      'final',
    );
    expect(final).toMatchObject({ result: { pong: true } });
    const [peer] = [...server.endpoint.peers];
    expect(peer!.stats()).toMatchObject({ inFlight: 0, senders: 0, notificationListeners: 0 });
    expect(peer!.stats().unclaimed).toBeLessThanOrEqual(1024);
    expect(server.http.listenerCount('upgrade')).toBe(upgradeListeners);
    expect(process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection')).toBe(
      processListeners,
    );
    raw.close();
    await expect.poll(() => server.endpoint.peers.size).toBe(0);
  });
});
