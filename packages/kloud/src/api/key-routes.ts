/**
 * Signing key rotation (site admins): `POST /api/v1/keys/rotate` adds a key that signs from now
 * on while the older ones keep verifying; `POST /api/v1/keys/:kid/retire` stops a key from
 * verifying. Rotating re-keys every connected Klient (a fresh kite.key, same kite id, signed by
 * the new key; others get theirs when they reconnect), so the old key can be retired without
 * rebuilding machines; a machine that never reconnected before the retirement is shut out until
 * rebuilt (kite keys do not expire). Kloud refuses
 * tokens of a retired key at once; a Klient's cached JWKS may accept them on direct
 * connections until it refreshes (at most 10 minutes). The key set is saved before the answer.
 */
import { defineRoute, type RouteRegistry } from '@kk/backend/api/define.js';
import { errors } from '@kk/backend/errors.js';
import type { KeySet } from '@kk/protocol/tokens/index.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { saveKeySet } from '../keys/keystore.js';

const keysAnswer = z.object({
  signing: z.string(),
  keys: z.array(z.object({ kid: z.string(), createdAt: z.number(), retiredAt: z.number().optional() })),
});

function describe(keys: KeySet) {
  const all = keys.toJSON().keys.map((k) => ({ kid: k.kid, createdAt: k.createdAt, retiredAt: k.retiredAt }));
  return { signing: keys.active().at(-1)!.kid, keys: all };
}

export function keyRoutes(
  app: FastifyInstance,
  registry: RouteRegistry,
  deps: { keys: () => KeySet; dataDir: string; rekey: () => Promise<void> },
): void {
  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/keys',
    tag: 'keys',
    summary: 'Kloud’s signing keys (ids and dates; the public parts are at /.well-known/jwks.json)',
    response: keysAnswer,
    handler: async ({ principal }) => {
      if (!principal.viewer.isAdmin) throw errors.forbidden('only a site admin sees the signing keys');
      return describe(deps.keys());
    },
  });
  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/keys/rotate',
    tag: 'keys',
    summary: 'Add a signing key; older keys keep verifying until retired',
    response: keysAnswer,
    handler: async ({ principal }) => {
      if (!principal.viewer.isAdmin) throw errors.forbidden('only a site admin rotates the signing keys');
      const keys = deps.keys();
      await keys.rotate();
      await saveKeySet(deps.dataDir, keys);
      // Connected Klients get kite.keys signed by the new key now; others when they reconnect.
      await deps.rekey();
      return describe(keys);
    },
  });
  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/keys/:kid/retire',
    tag: 'keys',
    summary: 'Stop a key from verifying (kite.keys it signed stop working: rebuild those machines first)',
    params: z.object({ kid: z.string().min(1).max(100) }),
    response: keysAnswer,
    handler: async ({ principal, params }) => {
      if (!principal.viewer.isAdmin) throw errors.forbidden('only a site admin retires signing keys');
      const keys = deps.keys();
      try {
        keys.retire(params.kid);
      } catch (err) {
        throw errors.conflict((err as Error).message);
      }
      await saveKeySet(deps.dataDir, keys);
      return describe(keys);
    },
  });
}
