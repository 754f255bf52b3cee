/**
 * Test helpers shared by the protocol's own tests and by other packages' tests: a key set, a
 * token-checking server on loopback, and a client to it.
 */
import { z } from 'zod';
import type { MethodSpec } from '../catalogue/define.js';
import { defineMethod } from '../catalogue/define.js';
import type { MethodName } from '../catalogue/index.js';
import type { ClientOptions, RpcClient } from '../client/client.js';
import { RpcError } from '../errors.js';
import { connect } from '../node/connect.js';
import { createRpcServer, type RpcServerOptions } from '../node/server.js';
import type { CallOptions } from '../peer.js';
import type { Principal } from '../principal.js';
import { issueAccessToken } from '../tokens/issue.js';
import { KeySet } from '../tokens/keyset.js';
import { keyResolver, verifyAccessToken } from '../tokens/verify.js';

export const TEST_ISSUER = 'http://kloud.test';
export const TEST_KITE = 'kite-test-1';

/** The methods of the JSON-RPC 2.0 specification's examples, for conformance tests. */
export const specCatalogue: Record<string, MethodSpec> = {
  subtract: defineMethod({
    summary: 'spec example',
    access: 'read',
    params: z.union([
      z.tuple([z.number(), z.number()]),
      z.object({ minuend: z.number(), subtrahend: z.number() }),
    ]),
    result: z.number(),
  }),
  sum: defineMethod({
    summary: 'spec example',
    access: 'read',
    params: z.array(z.number()),
    result: z.number(),
  }),
  update: defineMethod({
    summary: 'spec example',
    access: 'read',
    params: z.array(z.number()),
    result: z.null(),
  }),
  notify_hello: defineMethod({
    summary: 'spec example',
    access: 'read',
    params: z.array(z.number()),
    result: z.null(),
  }),
  notify_sum: defineMethod({
    summary: 'spec example',
    access: 'read',
    params: z.array(z.number()),
    result: z.null(),
  }),
  get_data: defineMethod({
    summary: 'spec example',
    access: 'read',
    params: z.undefined(),
    result: z.array(z.unknown()),
  }),
};

export const specHandlers = {
  subtract: (p: [number, number] | { minuend: number; subtrahend: number }) =>
    Array.isArray(p) ? p[0] - p[1] : p.minuend - p.subtrahend,
  sum: (p: number[]) => p.reduce((a, b) => a + b, 0),
  update: () => null,
  notify_hello: () => null,
  notify_sum: () => null,
  get_data: () => ['hello', 5],
} as Record<string, unknown>;

/** A server that accepts access tokens for TEST_KITE signed by `keys`. */
export async function tokenServer(
  keys: KeySet,
  options: Omit<RpcServerOptions, 'authenticate'> & { authenticate?: RpcServerOptions['authenticate'] },
) {
  const getKey = keyResolver(keys);
  return createRpcServer({
    authenticate: async (token): Promise<Principal> => {
      const claims = await verifyAccessToken(token, getKey, { issuer: TEST_ISSUER, kiteId: TEST_KITE });
      return { sub: claims.sub, scope: claims.scope, expiresAt: claims.exp * 1000 };
    },
    ...options,
  });
}

export async function tokenFor(
  keys: KeySet,
  scope: Principal['scope'] = 'owner',
  expiresInSeconds = 600,
): Promise<string> {
  return (
    await issueAccessToken(keys, {
      issuer: TEST_ISSUER,
      user: 'alice',
      kiteId: TEST_KITE,
      scope,
      expiresInSeconds,
    })
  ).token;
}

export async function testKeys(): Promise<KeySet> {
  return KeySet.generate();
}

export function clientTo(url: string, token: string | (() => Promise<string>), options: ClientOptions = {}) {
  return connect(url, token, { backoff: { initialMs: 20, maxMs: 200 }, ...options });
}

/** Resolves with the RpcError a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Calls any method, typed or not (test catalogues hold methods the platform's does not). */
export function anyCall(client: RpcClient) {
  return (method: string, params?: unknown, options?: CallOptions): Promise<unknown> =>
    client.call(method as MethodName, params as never, options);
}
